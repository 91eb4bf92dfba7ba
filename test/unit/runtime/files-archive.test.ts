import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import tar from 'tar-stream';

import { filesArchive, firstFileOf } from '../../../server/src/runtime/docker/files-archive.js';

interface Entry {
  readonly name: string;
  readonly mode: number | undefined;
  readonly type: string | null | undefined;
  readonly content: string;
}

async function entriesOf(archive: Buffer): Promise<Entry[]> {
  const extract = tar.extract();
  const entries: Entry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        entries.push({ name: header.name, mode: header.mode, type: header.type, content: Buffer.concat(chunks).toString('utf8') });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([archive]).pipe(extract);
  await done;
  return entries;
}

describe('filesArchive', () => {
  it('packs each file under its path without the leading slash, mode 0644, with its exact content', async () => {
    const config = 'server {\n  listen 80;\n}\n';
    const greeting = 'Grüße, 世界 ✓\n';
    const archive = await filesArchive({ '/etc/nginx/conf.d/lab.conf': config, '/greeting.txt': greeting });
    assert.equal(archive.length % 512, 0, 'a tar archive is made of 512-byte blocks');
    assert.deepEqual(await entriesOf(archive), [
      { name: 'etc/nginx/conf.d/lab.conf', mode: 0o644, type: 'file', content: config },
      { name: 'greeting.txt', mode: 0o644, type: 'file', content: greeting },
    ]);
  });

  it('packs no files as an empty archive', async () => {
    assert.deepEqual(await entriesOf(await filesArchive({})), []);
  });

  it('refuses a relative path, naming it', async () => {
    await assert.rejects(filesArchive({ '/etc/ok.conf': 'ok', 'etc/hosts': '127.0.0.1 localhost\n' }), {
      message: 'file path "etc/hosts" must be absolute',
    });
  });
});

describe('firstFileOf', () => {
  /** A get-archive answer: a tar stream holding the given entries. */
  function archive(entries: { name: string; type?: 'file' | 'directory'; content?: string }[]): NodeJS.ReadableStream {
    const pack = tar.pack();
    for (const e of entries) {
      if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
      else pack.entry({ name: e.name, type: 'file' }, e.content ?? '');
    }
    pack.finalize();
    return pack as unknown as NodeJS.ReadableStream;
  }

  it("gives the file's content", async () => {
    assert.deepEqual(await firstFileOf(archive([{ name: 'results', content: '#result n=1\n' }]), 100), { content: Buffer.from('#result n=1\n') });
  });

  it('refuses a file over the bound without reading it, and what is not a file', async () => {
    assert.deepEqual(await firstFileOf(archive([{ name: 'big', content: 'x'.repeat(101) }]), 100), {
      problem: 'it is 101 bytes, over the 100 this check reads',
    });
    assert.deepEqual(await firstFileOf(archive([{ name: 'dir', type: 'directory' }]), 100), { problem: 'it is a directory, not a file' });
    assert.deepEqual(await firstFileOf(archive([]), 100), { problem: 'the archive held no file' });
  });
});
