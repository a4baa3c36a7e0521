// Runs in a fresh Node process, the way Lambda runs a function: loads one synthesized bundle
// (init, with the function's environment), then invokes its handler once with the event given
// as JSON in argv[3] and a context whose remaining time counts down from argv[4] ms (the
// function's timeout). Prints one line `RESULT {"result":...,"ms":...}` after the handler's own
// log lines. The process is then ended, as Lambda would freeze it: whatever is still pending
// does not count as finished work.
//
// A Lambda function has its CPU share to itself; on a shared test machine the neighbours' load
// would be measured instead of the function. Where the OS allows it (root), this process
// therefore runs at a raised priority; `cpuMs` (the CPU time the invocation used) is reported
// beside the wall time, so a failed bound shows which of the two it was.
'use strict';
try {
  require('node:os').setPriority(-10);
} catch {
  // not allowed here: measured at normal priority
}
const bundle = require(process.argv[2]);
const event = JSON.parse(process.argv[3]);
const timeoutMs = Number(process.argv[4]);
const start = Date.now();
const cpu = process.cpuUsage();
const cpuMs = () => {
  const used = process.cpuUsage(cpu);
  return Math.round((used.user + used.system) / 1000);
};
const context = { getRemainingTimeInMillis: () => timeoutMs - (Date.now() - start) };
bundle
  .handler(event, context)
  .then((result) => {
    process.stdout.write(`\nRESULT ${JSON.stringify({ result, ms: Date.now() - start, cpuMs: cpuMs() })}\n`, () => process.exit(0));
  })
  .catch((err) => {
    process.stdout.write(`\nRESULT ${JSON.stringify({ error: String(err && err.stack), ms: Date.now() - start, cpuMs: cpuMs() })}\n`, () => process.exit(0));
  });
