import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import type { WorkshopStore } from '../store/workshop-store.js';

const SETTING = 'instructor_secret_sha256';

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * The instructor's secret: IPVS_LAB_INSTRUCTOR_TOKEN when set, otherwise one generated at the
 * first start. Only its hash is stored, so the generated secret is shown once, when it is made.
 */
export class InstructorSecret {
  private constructor(private readonly digest: Buffer) {}

  /**
   * @returns the secret, and `generated` (the secret itself) when it was made now and must be
   * shown to the operator, the only time it can be.
   */
  static resolve(configured: string, store: WorkshopStore): { secret: InstructorSecret; generated?: string } {
    if (configured) return { secret: new InstructorSecret(hash(configured)) };
    const stored = store.setting(SETTING);
    if (stored && /^[0-9a-f]{64}$/.test(stored)) return { secret: new InstructorSecret(Buffer.from(stored, 'hex')) };
    const generated = randomBytes(18).toString('base64url');
    store.setSetting(SETTING, hash(generated).toString('hex'));
    return { secret: new InstructorSecret(hash(generated)), generated };
  }

  /** Compared in constant time, so the answer's timing reveals nothing of the secret. */
  matches(candidate: string | undefined): boolean {
    return candidate !== undefined && timingSafeEqual(hash(candidate), this.digest);
  }
}
