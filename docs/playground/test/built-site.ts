/** The docs site built into a temporary directory, served over loopback HTTP for the browser. */

import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDiagrams } from '../../scripts/build-diagrams.mjs';
import { buildPlayground } from '../../scripts/build-playground.mjs';

const docsDirectory = fileURLToPath(new URL('../../', import.meta.url));

/** Runs typedoc (a child process, killed by pid if it outlives `timeoutMs`) into `outDirectory`. */
async function runTypedoc(outDirectory: string, timeoutMs: number): Promise<void> {
  const packageJson = createRequire(import.meta.url).resolve('typedoc/package.json');
  const typedoc = join(dirname(packageJson), 'bin', 'typedoc');
  const child = spawn(
    process.execPath,
    [typedoc, '--options', 'typedoc.json', '--out', outDirectory],
    {
      cwd: docsDirectory,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`typedoc did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`typedoc exited with ${code}: ${stderr}`));
    });
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** A built site served on 127.0.0.1 at a port chosen at run time. */
export interface ServedSite {
  /** The site's root URL, ending in `/`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the whole docs site (diagrams, typedoc, the playground bundle) and serves it. */
export async function buildAndServeSite(timeoutMs: number): Promise<ServedSite> {
  const directory = await mkdtemp(join(tmpdir(), 'docs-playground-site-'));
  try {
    await buildDiagrams();
    await runTypedoc(directory, timeoutMs);
    await buildPlayground(directory);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    if (path === '/favicon.ico') {
      // The site has no icon; the browser asks for one anyway (a 404 would log a console error).
      response.writeHead(204);
      response.end();
      return;
    }
    readFile(join(directory, path.endsWith('/') ? `${path}index.html` : path)).then(
      (body) => {
        response.writeHead(200, {
          'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
        });
        response.end(body);
      },
      () => {
        response.writeHead(404);
        response.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(directory, { recursive: true, force: true });
    },
  };
}
