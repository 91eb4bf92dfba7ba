import { randomBytes } from 'node:crypto';

import { SessionStore } from '../store/session-store.js';
import type { WorkshopStore } from '../store/workshop-store.js';

const SETTING = 'instructor_secret_sha256';

/**
 * The instructor's secret: IPVS_LAB_INSTRUCTOR_TOKEN when set, otherwise one generated at the
 * first start. Only its hash is stored (hashed and compared as session tokens are), so the
 * generated secret is shown once, when it is made.
 */
export class InstructorSecret {
  private constructor(private readonly hash: string) {}

  /**
   * @returns the secret, and `generated` (the secret itself) when it was made now and must be
   * shown to the operator, the only time it can be.
   */
  static resolve(configured: string, store: WorkshopStore): { secret: InstructorSecret; generated?: string } {
    if (configured) return { secret: new InstructorSecret(SessionStore.hashToken(configured)) };
    const stored = store.setting(SETTING);
    if (stored && /^[0-9a-f]{64}$/.test(stored)) return { secret: new InstructorSecret(stored) };
    const generated = randomBytes(18).toString('base64url');
    const hash = SessionStore.hashToken(generated);
    store.setSetting(SETTING, hash);
    return { secret: new InstructorSecret(hash), generated };
  }

  /** Compared in constant time, so the answer's timing reveals nothing of the secret. */
  matches(candidate: string | undefined): boolean {
    return SessionStore.tokenMatches(this.hash, candidate);
  }
}
