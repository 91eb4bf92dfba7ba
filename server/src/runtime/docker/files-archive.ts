import tar from 'tar-stream';

/**
 * A tar archive of `files` (absolute path → content), for Docker's put-archive call: files are
 * written into a created container before it starts, through the API, so nothing needs a bind
 * mount (which a remote engine or the rig's VM could not see).
 */
export async function filesArchive(files: Readonly<Record<string, string>>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const [target, content] of Object.entries(files)) {
    if (!target.startsWith('/')) throw new Error(`file path ${JSON.stringify(target)} must be absolute`);
    pack.entry({ name: target.slice(1), mode: 0o644 }, content);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
