/**
 * Checks the logs of a chaos run again, by themselves: `node --import tsx scripts/chaos/check.ts DIR`
 * (a failed run keeps its folder and prints this command). Exits 1 when the checker finds a problem.
 */
import { checkRun, formatReport } from './checker.js';

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: node --import tsx scripts/chaos/check.ts <logs folder of a chaos run>');
  process.exit(2);
}
const report = checkRun(dir);
for (const line of formatReport(report)) console.log(line);
process.exit(report.ok ? 0 : 1);
