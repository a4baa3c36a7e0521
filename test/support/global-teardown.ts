export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __dynalite?: { close(): Promise<void> } }).__dynalite?.close();
}
