/**
 * `chainrule inspect`: the inspector page (src/web/inspector), served on a local port with Node's
 * http module or written as files. The page runs chainrule itself in the browser; the server
 * only hands out two static files. `npm run build` pre-builds the page into dist/inspector/; in a
 * source checkout without it, the page is bundled on first use with esbuild (a devDependency).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The page's files and their content types. */
export const PAGE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'inspector.js': 'text/javascript; charset=utf-8',
};

/**
 * Bundles the page (one classic IIFE script, so that it also runs from file://, where module
 * scripts are refused) beside its index.html into `outDir`; returns the files written.
 */
export async function buildInspectorPage(outDir: string): Promise<string[]> {
  const source = resolve(here, '../web/inspector');
  const { build } = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(source, 'page.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outfile: join(outDir, 'inspector.js'),
    logLevel: 'silent',
  });
  if (result.warnings.length > 0)
    throw new Error(
      `inspect: bundling the page warned: ${result.warnings.map((w) => w.text).join('; ')}`,
    );
  copyFileSync(join(source, 'index.html'), join(outDir, 'index.html'));
  return Object.keys(PAGE_FILES).map((f) => join(outDir, f));
}

let built: Promise<string> | null = null;

/** The folder holding the built page: dist/inspector, or a fresh bundle in a source checkout. */
export function inspectorPageDir(): Promise<string> {
  const prebuilt = resolve(here, '../inspector');
  if (Object.keys(PAGE_FILES).every((f) => existsSync(join(prebuilt, f))))
    return Promise.resolve(prebuilt);
  if (!existsSync(resolve(here, '../web/inspector/page.ts'))) {
    return Promise.reject(
      new Error(
        `inspect: the inspector page is missing from ${prebuilt}; run 'npm run build', which writes it there`,
      ),
    );
  }
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-inspector-'));
    await buildInspectorPage(dir);
    return dir;
  })();
  return built;
}

/** Copies the page into `outDir` (`--static`); returns the files written. */
export function writeInspectorPage(pageDir: string, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return Object.keys(PAGE_FILES).map((f) => {
    copyFileSync(join(pageDir, f), join(outDir, f));
    return join(outDir, f);
  });
}

/**
 * Serves the page on `host:port` (port 0: any free port); resolves once listening. Only the
 * page's own files are served, from memory.
 */
export function serveInspectorPage(
  pageDir: string,
  port: number,
  host = '127.0.0.1',
): Promise<Server> {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    return Promise.reject(
      new Error(`inspect: --port must be an integer from 0 to 65535, got ${port}`),
    );
  const files = new Map(
    Object.keys(PAGE_FILES).map((f) => [`/${f}`, readFileSync(join(pageDir, f))]),
  );
  files.set('/', files.get('/index.html')!);
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const body = files.get(path);
    if (request.method !== 'GET' || body === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    const type = PAGE_FILES[path === '/' ? 'index.html' : path.slice(1)];
    response.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `inspect: port ${port} is in use; pick another with --port`
            : `inspect: cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, host, () => resolvePromise(server));
  });
}

/** The `inspect` command: writes the page with `staticDir`, else serves it until interrupted. */
export async function runInspect(options: {
  port: number;
  static?: string;
}): Promise<Server | null> {
  const pageDir = await inspectorPageDir();
  if (options.static !== undefined) {
    const written = writeInspectorPage(pageDir, resolve(options.static));
    process.stdout.write(`wrote ${written.join(', ')}; open index.html in a browser\n`);
    return null;
  }
  const server = await serveInspectorPage(pageDir, options.port);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  process.stdout.write(`chainrule inspector: http://127.0.0.1:${port}/ (Ctrl-C to stop)\n`);
  return server;
}
