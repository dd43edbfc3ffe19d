// For `npm run bench` (hostile phase): times GET <url>/healthz on each URL given, in turn, until
// its stdin closes, then prints {"<url>": [ms, ...], ...} as JSON. It runs as its own process so
// that the bench process's work (it also serves the hostile registry) does not show in the times.
const urls = process.argv.slice(2);
const times = Object.fromEntries(urls.map((u) => [u, []]));
let stop = false;
process.stdin.on("end", () => void (stop = true));
process.stdin.on("data", () => {});
process.stdin.resume();
// Warm the connections first: these are not kept.
for (let i = 0; i < 5; i++) for (const u of urls) await (await fetch(`${u}/healthz`)).arrayBuffer();
process.stdout.write("ready\n");
while (!stop) {
  for (const u of urls) {
    const t = performance.now();
    const res = await fetch(`${u}/healthz`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${u}/healthz: HTTP ${res.status}`);
    times[u].push(performance.now() - t);
  }
}
process.stdout.write(`${JSON.stringify(times)}\n`);
