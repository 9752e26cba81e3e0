/// <reference types="@webgpu/types" />
/**
 * The WebGPU run group: R runs of the gated RNN of eq. 2 (diagonal, f32) trained in lockstep on one GPU. Teacher,
 * initial parameters and validation set of each run come from the CPU code (createTrainer: the same seed gives the
 * same ones as on the CPU) and are uploaded once; every training batch is drawn on the GPU by Philox4x32-10 keyed by
 * (run seed, step), so nothing is uploaded per step; up to `chunk` steps (8 dispatches each, src/kernels/webgpu/
 * kernels.ts) are encoded into one command buffer, and the losses are read back once per submission.
 */
import type { DataSource, KernelSource, ParamLayout, StepShape } from "../kernels/webgpu/kernels.ts";
import { adamwKernel, bwdHKernel, bwdScanKernel, fwdInKernel, fwdOutKernel, lossKernel, lrtStride, paramLayout, pkStride, rgradKernel, splitK, wgradKernel } from "../kernels/webgpu/kernels.ts";
import type { Gpu } from "../kernels/webgpu/device.ts";
import { acquireGpu, COMPUTE_STAGE, MAP_READ_MODE, USAGE } from "../kernels/webgpu/device.ts";
import { seedKey } from "../kernels/webgpu/philox.ts";
import { ref32 } from "../kernels/reference.ts";
import type { Params } from "../models/types.ts";
import type { Batch } from "../tasks/types.ts";
import { iclWStarVariance } from "../tasks/icl-regression.ts";
import type { Tensor } from "../tensor.ts";
import { webgpuRefusal } from "./device.ts";
import type { Advanced, GroupTrainer, RunSnapshot } from "./group.ts";
import { checkGroup, GroupDivergedError } from "./group.ts";
import type { TrainConfig } from "./loop.ts";
import { closeTrainer, createTrainer, zeroPredictorLoss } from "./loop.ts";
import { cosine, warmup } from "./schedule.ts";

/** Steps encoded per command buffer (and the most one advance call takes before it reads the losses back). */
export const WEBGPU_CHUNK = 256;

/** Trained-form tensor names in parameter-block order (src/kernels/webgpu/kernels.ts, paramLayout). */
const TRAINED = ["in_x", "in_m", "nu", "out_x", "out_m", "readout"] as const;

/** A compiled kernel: its source (workgroup counts included), pipeline and bind group layout. */
interface Pipe {
  k: KernelSource;
  p: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Pipelines by WGSL source per device: groups of one shape (any R) compile their kernels once per process. */
const pipelineCache = new WeakMap<GPUDevice, Map<string, Pipe>>();

/** A WebGPU GroupTrainer plus test hooks (a step on uploaded batches, raw buffer reads). */
export interface WebGpuGroupTrainer extends GroupTrainer {
  /**
   * Test hook: steps.length (<= WEBGPU_CHUNK) optimizer steps of every run on the given batches (steps[s][r]: run r's
   * batch of step s, the trainer's B and T) instead of GPU-drawn data, in one submission; returns losses[s][r].
   */
  stepOn(steps: readonly (readonly Batch[])[]): Promise<number[][]>;
  /** Test hook: run r's slice of a named device buffer (P, G, MO, VO, X, TG, H, GO, DY, DF, DH) as float32. */
  read(name: string, r: number): Promise<Float32Array>;
  /** The trained-form parameter layout of one run's block. */
  readonly layout: ParamLayout;
}

/** What createWebGpuGroup accepts besides the configs. */
export interface WebGpuGroupOptions {
  /** Per run: the checkpoint to continue from (undefined = a fresh run). */
  snapshots?: readonly (RunSnapshot | undefined)[];
  /** A GPU to use instead of the process's shared one (acquireGpu). */
  gpu?: Gpu;
}

/**
 * A GroupTrainer on the GPU for `cfgs` (equal groupKey, device "webgpu"), restored from `snapshots[r]` when given.
 * Rejects with a one-line error for unsupported configs or when no adapter can be had.
 */
export async function createWebGpuGroup(cfgs: readonly TrainConfig[], opts: WebGpuGroupOptions = {}): Promise<WebGpuGroupTrainer> {
  checkGroup(cfgs);
  const why = webgpuRefusal(cfgs[0]);
  if (why) throw new Error(why);
  const R = cfgs.length;
  const cfg0 = cfgs[0];
  // the CPU side of every run: teacher, init (nu form), validation set, zero-predictor loss, model config
  const cpu = cfgs.map((cfg) => {
    const tr = createTrainer({ ...cfg, threads: 1, device: "cpu", backend: "reference" }, ref32);
    try {
      return {
        trainable: tr.trainable, setup: tr.setup, task: tr.task, validation: tr.validation, zero: zeroPredictorLoss(tr),
        family: tr.family, config: structuredClone(tr.params.config) as Record<string, number>,
      };
    } finally {
      closeTrainer(tr);
    }
  });
  const { dIn, dOut, T } = cpu[0].task.dims(cfg0.task_config);
  const mc = cpu[0].config;
  const icl = cfg0.task === "icl-regression";
  const shape: StepShape = { B: cfg0.batch, T, dIn, N: mc.hidden, M: mc.output_gating, O: dOut, scoredAll: !icl };
  const L = paramLayout(shape);
  const S = shape.scoredAll ? T : 1;
  const RB = shape.B * T;
  if (RB > 65535) throw new Error(`--device webgpu: batch x sequence length = ${RB} rows is above 65535; use a smaller --batch`);
  // the validation set, padded to whole batches
  const V = cfg0.val_size;
  const chunksV = Math.ceil(V / shape.B);
  const Vp = chunksV * shape.B;

  const gpu = opts.gpu ?? (await acquireGpu());
  const dev = gpu.device;
  dev.pushErrorScope("validation");
  const buffers: GPUBuffer[] = [];
  const buf = (floats: number, extra = 0): GPUBuffer => {
    const b = dev.createBuffer({ size: Math.max(16, 4 * floats), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST | extra });
    buffers.push(b);
    return b;
  };
  const PS = L.PS;
  const KS = splitK(shape);
  const B: Record<string, GPUBuffer> = {
    P: buf(R * PS), G: buf(R * PS), MO: buf(R * PS), VO: buf(R * PS),
    X: buf(R * RB * dIn), TG: buf(R * shape.B * S * dOut), H: buf(R * RB * shape.N), GO: buf(R * RB * 2 * shape.M),
    DY: buf(R * RB * dOut), DF: buf(R * RB * 2 * shape.M), DH: buf(R * RB * shape.N),
    PART: buf(R * shape.B * shape.N * (2 * L.D + 1)), PK: buf(R * KS * pkStride(shape)), SSE: buf(R * RB),
    LOSS: buf(R * WEBGPU_CHUNK), LRT: buf(WEBGPU_CHUNK * lrtStride(R)), RUNF: buf(2 * R), SEEDS: buf(2 * R),
    TEACH: buf(icl ? 4 : R * 3 * dIn * dIn), VX: buf(R * Vp * T * dIn), VT: buf(R * Vp * S * dOut), VSSE: buf(R * Vp * T),
  };
  const slotCount = WEBGPU_CHUNK + chunksV;
  const slots = dev.createBuffer({ size: 256 * slotCount, usage: USAGE.UNIFORM | USAGE.COPY_DST });
  buffers.push(slots);
  const write = (b: GPUBuffer, offsetFloats: number, data: Float32Array | Uint32Array) => dev.queue.writeBuffer(b, 4 * offsetFloats, data.buffer, data.byteOffset, data.byteLength);

  // uploads, once: parameters and moments, per-run constants, teachers, validation sets
  let step0 = 0;
  const steps = new Set<number>();
  cpu.forEach((c, r) => {
    const snap = opts.snapshots?.[r];
    steps.add(snap?.step ?? 0);
    for (const [bufName, src] of [["P", snap?.trainable ?? c.trainable], ["MO", snap?.m], ["VO", snap?.v]] as const) {
      if (!src) continue;
      const block = new Float32Array(PS);
      const offs = [L.inX, L.inM, L.nu, L.outX, L.outM, L.readout];
      TRAINED.forEach((name, i) => {
        const t = src[name];
        const len = (i + 1 < offs.length ? offs[i + 1] : PS) - offs[i];
        if (!t || t.length !== len) throw new Error(`checkpoint of run ${r}: "${name}" is missing or has the wrong size`);
        block.set(t, offs[i]);
      });
      write(B[bufName], r * PS, block);
    }
    if (!icl) {
      const tp = c.setup as Params;
      const tw = new Float32Array(3 * dIn * dIn);
      ["W_V", "W_K", "W_Q"].forEach((n, i) => tw.set(tp.tensors[n].data, i * dIn * dIn));
      write(B.TEACH, r * 3 * dIn * dIn, tw);
    }
    const vx = new Float32Array(Vp * T * dIn);
    const vt = new Float32Array(Vp * S * dOut);
    let o = 0;
    for (const b of c.validation) {
      const nb = b.x.shape[0];
      vx.set(b.x.data, o * T * dIn);
      vt.set(b.target, o * S * dOut);
      o += nb;
    }
    write(B.VX, r * Vp * T * dIn, vx);
    write(B.VT, r * Vp * S * dOut, vt);
  });
  if (steps.size > 1) throw new Error(`run group: the runs' checkpoints are at different steps (${[...steps].join(", ")}); resume them in separate groups`);
  step0 = [...steps][0];
  write(B.RUNF, 0, Float32Array.from(cfgs.flatMap((c) => [c.adam_eps, c.weight_decay])));
  write(B.SEEDS, 0, Uint32Array.from(cfgs.flatMap((c) => seedKey(c.seed))));

  // pipelines: binding 0 = the uniform slot (dynamic offset), then the kernel's storage buffers
  const cache = pipelineCache.get(dev) ?? new Map<string, Pipe>();
  pipelineCache.set(dev, cache);
  const pipeline = (k: KernelSource): Pipe => {
    const hit = cache.get(k.code);
    if (hit) return { ...hit, k };
    const layout = dev.createBindGroupLayout({
      label: k.label,
      entries: [
        { binding: 0, visibility: COMPUTE_STAGE, buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: 16 } },
        ...k.bindings.map((b, i) => ({ binding: i + 1, visibility: COMPUTE_STAGE, buffer: { type: (b.write ? "storage" : "read-only-storage") as GPUBufferBindingType } })),
      ],
    });
    const p = dev.createComputePipeline({
      label: k.label, layout: dev.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: dev.createShaderModule({ label: k.label, code: k.code }), entryPoint: "main" },
    });
    const pp = { k, p, layout };
    cache.set(k.code, pp);
    return pp;
  };
  const bind = (pp: Pipe, names: Record<string, GPUBuffer> = {}) => ({
    pp,
    bg: dev.createBindGroup({
      layout: pp.layout,
      entries: [{ binding: 0, resource: { buffer: slots, size: 16 } }, ...pp.k.bindings.map((b, i) => ({ binding: i + 1, resource: { buffer: names[b.name] ?? B[b.name] } }))],
    }),
  });
  const gen: DataSource = icl
    ? { kind: "icl-regression", dx: Number(cfg0.task_config.d_x), dy: Number(cfg0.task_config.d_y), wStd: Math.sqrt(iclWStarVariance(Number(cfg0.task_config.d_x), false)) }
    : { kind: "teacher-student" };
  const pFwdGen = pipeline(fwdInKernel(shape, L, R, gen));
  const pFwdVal = pipeline(fwdInKernel(shape, L, R, { kind: "upload", seqs: Vp }));
  const pGo = pipeline(fwdOutKernel(shape, L, R));
  const pLoss = pipeline(lossKernel(shape, L, R, true, RB));
  const pLossVal = pipeline(lossKernel(shape, L, R, false, Vp * T));
  const pDh = pipeline(bwdHKernel(shape, L, R));
  const pScan = pipeline(bwdScanKernel(shape, L, R));
  const pW = pipeline(wgradKernel(shape, L, R));
  const pRo = pipeline(rgradKernel(shape, L, R));
  const pAdam = pipeline(adamwKernel(shape, L, R, cfg0.beta1, cfg0.beta2, WEBGPU_CHUNK));
  const tail = [bind(pGo), bind(pLoss), bind(pDh), bind(pScan), bind(pW), bind(pRo), bind(pAdam)];
  const fwdGen = bind(pFwdGen, { AUX: B.TEACH, AUX2: B.TEACH });
  const evalSeq = [bind(pFwdVal, { AUX: B.VX, AUX2: B.VT }), bind(pGo), bind(pLossVal, { SSE: B.VSSE })];
  const invalid = await dev.popErrorScope();
  if (invalid) {
    for (const b of buffers) b.destroy();
    throw new Error(`--device webgpu: ${invalid.message.split("\n")[0]}`);
  }

  const dispatch = (pass: GPUComputePassEncoder, d: { pp: Pipe; bg: GPUBindGroup }, slot: number) => {
    pass.setPipeline(d.pp.p);
    pass.setBindGroup(0, d.bg, [256 * slot]);
    const [x, y, z] = d.pp.k.groups;
    pass.dispatchWorkgroups(x, y, z);
  };
  const readBack = async (src: GPUBuffer, offsetFloats: number, floats: number): Promise<Float32Array> => {
    const st = dev.createBuffer({ size: 4 * floats, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const enc = dev.createCommandEncoder();
    enc.copyBufferToBuffer(src, 4 * offsetFloats, st, 0, 4 * floats);
    dev.queue.submit([enc.finish()]);
    await st.mapAsync(MAP_READ_MODE);
    const out = new Float32Array(st.getMappedRange().slice(0));
    st.unmap();
    st.destroy();
    return out;
  };
  const schedule = (() => {
    return cfgs.map((c) => {
      const s = cosine(c.lr, c.lr_final, Math.max(1, c.steps - c.warmup));
      return c.warmup > 0 ? warmup(c.warmup, s) : s;
    });
  })();
  let step = step0;
  let closed = false;
  const slotData = new Uint32Array(64 * slotCount);

  /** n <= WEBGPU_CHUNK steps from `step` in one submission (first kernel `fwd`), then the losses read back. */
  const run = async (n: number, fwd: { pp: Pipe; bg: GPUBindGroup }): Promise<Advanced & { losses: Float32Array }> => {
    if (closed) throw new Error("webgpu group: closed");
    const lrt = new Float32Array(n * lrtStride(R));
    const lr = new Float64Array(R);
    for (let s = 0; s < n; s++) {
      const g = step + s;
      slotData[64 * s] = g;
      slotData[64 * s + 1] = s;
      slotData[64 * s + 2] = s; // the uploaded batch of local step s (test hook)
      slotData[64 * s + 3] = R;
      const t = g + 1;
      lrt[s * lrtStride(R)] = 1 - Math.pow(cfg0.beta1, t);
      lrt[s * lrtStride(R) + 1] = 1 - Math.pow(cfg0.beta2, t);
      for (let r = 0; r < R; r++) lrt[s * lrtStride(R) + 2 + r] = lr[r] = schedule[r](g);
    }
    dev.queue.writeBuffer(slots, 0, slotData.buffer, 0, 256 * n);
    write(B.LRT, 0, lrt);
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let s = 0; s < n; s++) {
      dispatch(pass, fwd, s);
      for (const d of tail) dispatch(pass, d, s);
    }
    pass.end();
    const st = dev.createBuffer({ size: 4 * R * WEBGPU_CHUNK, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    enc.copyBufferToBuffer(B.LOSS, 0, st, 0, 4 * R * WEBGPU_CHUNK);
    dev.queue.submit([enc.finish()]);
    await st.mapAsync(MAP_READ_MODE);
    const loss = new Float32Array(st.getMappedRange().slice(0));
    st.unmap();
    st.destroy();
    const lossSum = new Float64Array(R);
    for (let r = 0; r < R; r++) {
      for (let s = 0; s < n; s++) {
        const l = loss[r * WEBGPU_CHUNK + s];
        if (!Number.isFinite(l)) {
          step += n;
          throw new GroupDivergedError(r, step - n + s + 1, l);
        }
        lossSum[r] += l;
      }
    }
    step += n;
    return { lossSum, lr, losses: loss };
  };

  const bufferSlices: Record<string, number> = {
    P: PS, G: PS, MO: PS, VO: PS, X: RB * dIn, TG: shape.B * S * dOut, H: RB * shape.N, GO: RB * 2 * shape.M, DY: RB * dOut,
    DF: RB * 2 * shape.M, DH: RB * shape.N,
  };
  const readRun = (name: string, r: number) => {
    const n = bufferSlices[name];
    if (n === undefined) throw new Error(`webgpu group: no buffer "${name}"`);
    return readBack(B[name], r * n, n);
  };
  const tensorOf = (block: Float32Array, name: (typeof TRAINED)[number]): Float32Array => {
    const offs = [L.inX, L.inM, L.nu, L.outX, L.outM, L.readout, PS];
    const i = TRAINED.indexOf(name);
    return block.slice(offs[i], offs[i + 1]);
  };

  return {
    cfgs,
    device: `webgpu: ${gpu.adapter}`,
    note: gpu.software ? "a software adapter (correct, slow: for tests)" : "",
    get step() {
      return step;
    },
    chunk: WEBGPU_CHUNK,
    layout: L,
    async advance(n: number): Promise<Advanced> {
      const lossSum = new Float64Array(R);
      let lr: Float64Array = new Float64Array(R);
      for (let done = 0; done < n; ) {
        const k = Math.min(WEBGPU_CHUNK, n - done);
        const a = await run(k, fwdGen);
        for (let r = 0; r < R; r++) lossSum[r] += a.lossSum[r];
        lr = a.lr;
        done += k;
      }
      return { lossSum, lr };
    },
    async stepOn(batches: readonly (readonly Batch[])[]): Promise<number[][]> {
      const n = batches.length;
      if (n < 1 || n > WEBGPU_CHUNK) throw new Error(`stepOn: 1 to ${WEBGPU_CHUNK} steps, got ${n}`);
      const ux = buf(R * n * RB * dIn), ut = buf(R * n * shape.B * S * dOut);
      batches.forEach((runs, s) => {
        if (runs.length !== R) throw new Error(`stepOn: ${runs.length} batches for ${R} runs`);
        runs.forEach((b, r) => {
          if (b.x.data.length !== RB * dIn || b.target.length !== shape.B * S * dOut) throw new Error(`stepOn: batch ${r} has the wrong shape`);
          write(ux, (r * n + s) * RB * dIn, Float32Array.from(b.x.data));
          write(ut, (r * n + s) * shape.B * S * dOut, Float32Array.from(b.target));
        });
      });
      try {
        const a = await run(n, bind(pipeline(fwdInKernel(shape, L, R, { kind: "upload", seqs: n * shape.B })), { AUX: ux, AUX2: ut }));
        return Array.from({ length: n }, (_, s) => Array.from({ length: R }, (_, r) => a.losses[r * WEBGPU_CHUNK + s]));
      } finally {
        ux.destroy();
        ut.destroy();
      }
    },
    async evaluate(): Promise<Float64Array> {
      for (let c = 0; c < chunksV; c++) slotData.set([0, 0, c, R], 64 * (WEBGPU_CHUNK + c));
      dev.queue.writeBuffer(slots, 256 * WEBGPU_CHUNK, slotData.buffer, 256 * WEBGPU_CHUNK, 256 * chunksV);
      const enc = dev.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let c = 0; c < chunksV; c++) for (const d of evalSeq) dispatch(pass, d, WEBGPU_CHUNK + c);
      pass.end();
      dev.queue.submit([enc.finish()]);
      const sse = await readBack(B.VSSE, 0, R * Vp * T);
      const out = new Float64Array(R);
      for (let r = 0; r < R; r++) {
        let sum = 0;
        for (let i = 0; i < V * T; i++) sum += sse[r * Vp * T + i];
        out[r] = (0.5 * sum) / (V * S * dOut);
      }
      return out;
    },
    zeroPredictorLoss: () => Float64Array.from(cpu, (c) => c.zero),
    artifacts: (r) => cpu[r].task.artifacts(cpu[r].setup, cfgs[r].task_config),
    async exportParams(r: number): Promise<Params> {
      const block = await readBack(B.P, r * PS, PS);
      const shapes = cpu[r].family.shapes(cpu[r].config);
      const tensors: Record<string, Tensor> = {};
      for (const name of ["in_x", "in_m", "lambda", "out_x", "out_m", "readout"]) {
        let data: Float32Array;
        if (name === "lambda") {
          const nu = tensorOf(block, "nu");
          data = nu.map((v) => Math.exp(-Math.exp(v)));
        } else data = tensorOf(block, name as (typeof TRAINED)[number]);
        tensors[name] = { shape: [...shapes[name]], data };
      }
      return { family: cpu[r].family.name, config: structuredClone(cpu[r].config), tensors };
    },
    async snapshot(r: number): Promise<RunSnapshot> {
      const [p, m, v] = await Promise.all([readBack(B.P, r * PS, PS), readBack(B.MO, r * PS, PS), readBack(B.VO, r * PS, PS)]);
      const pick = (block: Float32Array) => Object.fromEntries(TRAINED.map((n) => [n, tensorOf(block, n)]));
      return { step, trainable: pick(p), m: pick(m), v: pick(v) };
    },
    read: readRun,
    close() {
      if (closed) return;
      closed = true;
      for (const b of buffers) b.destroy();
    },
  };
}
