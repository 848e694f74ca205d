#!/usr/bin/env node
// The ONNX Runtime side of the peer benchmark (tools/peers/bench-peers.sh).
//
//   node ort_peer.js DIR [--threads 2] [--seconds S]
//
// Reads DIR/ort/manifest.json (written by torch_peer.py): the exported one-frame evaluation and
// its inputs as raw float32, times one evaluation on the CPU execution provider (median), and
// checks the velocity against PyTorch fp32's. Prints one JSON object per line.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const a = { dir: null, threads: 2, seconds: 2 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--threads') a.threads = Number(argv[++i]);
    else if (argv[i] === '--seconds') a.seconds = Number(argv[++i]);
    else if (!a.dir) a.dir = argv[i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!a.dir) throw new Error('usage: node ort_peer.js DIR [--threads N] [--seconds S]');
  return a;
}

function readTensor(dir, entry) {
  const buf = fs.readFileSync(path.join(dir, entry.file));
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return new ort.Tensor('float32', Float32Array.from(data), entry.shape);
}

// Repeats a batch-1 tensor along `axis` (0 for x/t/text, 1 for past_k/past_v) to `batch` rows.
function repeatBatch(t, axis, batch) {
  if (batch === 1) return t;
  const dims = t.dims.slice();
  const outer = dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = t.data.length / outer;
  const out = new Float32Array(t.data.length * batch);
  for (let o = 0; o < outer; o++)
    for (let b = 0; b < batch; b++)
      out.set(t.data.subarray(o * inner, (o + 1) * inner), (o * batch + b) * inner);
  dims[axis] *= batch;
  return new ort.Tensor('float32', out, dims);
}

async function medianSeconds(fn, seconds, minRuns = 5) {
  for (let i = 0; i < 2; i++) await fn();
  const samples = [];
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) * 1e-9;
  while (samples.length < minRuns || elapsed() < seconds) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) * 1e-9);
  }
  samples.sort((x, y) => x - y);
  return { sec: samples[samples.length >> 1], best: samples[0], runs: samples.length };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const dir = path.join(a.dir, 'ort');
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(a.dir, manifest.onnx), {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputs = {};
  for (const [name, entry] of Object.entries(manifest.inputs)) inputs[name] = readTensor(dir, entry);
  const ref = readTensor(dir, manifest.v_ref).data;

  const out = (await session.run(inputs)).v.data;
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(out[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  const step = await medianSeconds(() => session.run(inputs), a.seconds);
  let secFps = step.sec;
  const batch = manifest.batch_fps;
  if (batch > 1) {
    const b = {};
    for (const [name, t] of Object.entries(inputs))
      b[name] = repeatBatch(t, name.startsWith('past_') ? 1 : 0, batch);
    secFps = (await medianSeconds(() => session.run(b), a.seconds)).sec;
  }
  console.log(JSON.stringify({
    kind: 'peer', name: 'ort fp32', step_ms: step.sec * 1e3, best_ms: step.best * 1e3, runs: step.runs,
    err: diff / Math.max(scale, 1e-30), fps: 1 / ((manifest.steps + 1) * secFps),
    batch_fps: batch, version: require('onnxruntime-node/package.json').version,
  }));
}

main().catch((e) => { console.error(`ort_peer: ${e.message}`); process.exit(1); });
