/**
 * dynalite in a child process: the store's own CPU work must not run on the event loop of the
 * handler being measured, or it would be counted as the handler's overhead.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const SERVER = `
const server = require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.on('disconnect', () => process.exit(0));
`;

export async function startDynaliteProcess(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
