// The embedded DynamoDB in its own process (lambda/local/dynalite.ts startChild). Plain
// JavaScript: it runs under node alone, whatever started the parent (tsx, jest, a bundle).
'use strict';
const { port, path, module: dynalitePath } = JSON.parse(process.env.CLICKVAULT_DYNALITE || '{}');
const server = require(dynalitePath)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path ? { path } : {}) });
server.once('error', (err) => {
  process.send({ error: err.message });
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => process.send({ port: server.address().port }));
// The parent went away (closed the channel, or died): close the store cleanly, then exit.
process.on('disconnect', () => {
  const forced = setTimeout(() => process.exit(0), 5000);
  server.close(() => {
    clearTimeout(forced);
    process.exit(0);
  });
});
