import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LABEL_MANAGED, type Engine, type Progress } from './engine.js';

/**
 * Tag of the image built from `containers/<name>`: the hash of the context's files, so an edited
 * Dockerfile gets a new image on the next start, and an unchanged one is never rebuilt.
 */
export function imageTag(name: string, dir: string): string {
  const hash = createHash('sha256');
  for (const file of walk(dir).sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(dir, file)))
      .update('\0');
  }
  return `ipvs-lab/${name}:${hash.digest('hex').slice(0, 12)}`;
}

/** A folder with a Dockerfile, and the name its image is tagged under. */
export interface BuildContext {
  readonly name: string;
  readonly dir: string;
}

/**
 * Makes sure the image of each build context exists, building the missing ones side by side (on
 * a first start, the builds' apt downloads and unpacking overlap). Returns build name → image tag.
 */
export async function ensureImages(engine: Engine, contexts: readonly BuildContext[], progress: Progress): Promise<Map<string, string>> {
  const unique = [...new Map(contexts.map((c) => [c.name, c])).values()];
  const built = await Promise.all(
    unique.map(async ({ name, dir }) => {
      const tag = imageTag(name, dir);
      if (await engine.imageExists(tag)) {
        progress(`image ${tag} is up to date`);
        return [name, tag] as const;
      }
      const started = Date.now();
      progress(`building image ${tag} from ${dir} (the first time takes a minute or two)`);
      await engine.buildImage(dir, tag, { [LABEL_MANAGED]: 'true' }, (line) => progress(`  ${name}: ${line}`));
      progress(`built image ${tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return [name, tag] as const;
    }),
  );
  return new Map(built);
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(path.join(dir, rel)).isDirectory() ? walk(dir, rel) : [rel];
  });
}
