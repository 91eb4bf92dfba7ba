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

/**
 * The content of the first regular file in a tar stream (Docker's get-archive answer for one
 * path), read up to `maxBytes`: more than that, or anything but a regular file, is refused
 * without reading on. Whoever wrote the file may be the learner, so the size is bounded here,
 * before it is in memory.
 */
export async function firstFileOf(archive: NodeJS.ReadableStream, maxBytes: number): Promise<{ content: Buffer } | { problem: string }> {
  const extract = tar.extract();
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (value: { content: Buffer } | { problem: string }) => {
      if (settled) return;
      settled = true;
      resolve(value);
      extract.destroy();
      (archive as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    };
    extract.on('entry', (header, stream, next) => {
      if (header.type !== 'file') return finish({ problem: `it is a ${header.type ?? 'special file'}, not a file` });
      if ((header.size ?? 0) > maxBytes) return finish({ problem: `it is ${header.size} bytes, over the ${maxBytes} this check reads` });
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => finish({ content: Buffer.concat(chunks) }));
      stream.on('error', reject);
      void next;
    });
    extract.on('finish', () => finish({ problem: 'the archive held no file' }));
    extract.on('error', (e) => (settled ? undefined : reject(e)));
    archive.pipe(extract);
  });
}
