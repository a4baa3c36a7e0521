// Runs in a fresh Node process: loads one bundle the way Lambda's init phase does and prints
// how long the require (module evaluation plus the handler's own init) took, in ms.
'use strict';
const start = process.hrtime.bigint();
const mod = require(process.argv[2]);
const end = process.hrtime.bigint();
if (typeof mod.handler !== 'function') throw new Error('the bundle exports no handler');
process.stdout.write(`${Number(end - start) / 1e6}\n`);
