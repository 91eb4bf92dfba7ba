import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LABEL_MANAGED, type Engine, type Progress } from './engine.js';

/**
 * Tag of the image built from `containers/<name>`: the hash of the context's files, so an edited
 * Dockerfile gets a new image on the next start, and an unchanged one is never rebuilt.
 */
export function imageTag(containersDir: string, name: string): string {
  const dir = path.join(containersDir, name);
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

/**
 * Makes sure the image of each build context exists, building the missing ones in turn.
 * Returns build name → image tag.
 */
export async function ensureImages(engine: Engine, containersDir: string, names: Iterable<string>, progress: Progress): Promise<Map<string, string>> {
  const tags = new Map<string, string>();
  for (const name of new Set(names)) {
    const tag = imageTag(containersDir, name);
    tags.set(name, tag);
    if (await engine.imageExists(tag)) {
      progress(`image ${tag} is up to date`);
      continue;
    }
    const started = Date.now();
    progress(`building image ${tag} from ${path.join(containersDir, name)} (the first time takes a minute or two)`);
    await engine.buildImage(path.join(containersDir, name), tag, { [LABEL_MANAGED]: 'true' }, (line) => progress(`  ${name}: ${line}`));
    progress(`built image ${tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return tags;
}

function walk(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix)).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    return statSync(path.join(dir, rel)).isDirectory() ? walk(dir, rel) : [rel];
  });
}
