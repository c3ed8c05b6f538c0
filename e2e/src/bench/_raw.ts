import { rawRowsPerSecond } from './ort.js';
import { cpuUsage } from 'node:process';
for (let i=0;i<3;i++){
const c0 = cpuUsage(); const t0=performance.now();
const r = await rawRowsPerSecond([64, 1024, 8192], 1000);
const c1 = cpuUsage(c0); const dt=performance.now()-t0;
console.log([...r].map(([b,v])=>`${b}:${Math.round(v)}`).join(' '), 'cpu/wall', ((c1.user+c1.system)/1000/dt).toFixed(2));
}
