/**
 * The Section 3.3 stack: a linear embedding, L recurrent layers of one family, a linear readout:
 *   e_t = embed x_t,   e <- layer_l(e) for l = 1..L,   y_t = readout e_t.
 * Shapes: embed [width, d_in], layers.<l>.* (each layer width -> width, its own tensors), readout [d_out, width].
 * No normalisation, dropout or skip connections (as in the paper).
 */
import type { Field, Schema } from "../config.ts";
import { int } from "../config.ts";
import type { Float, Tensor } from "../tensor.ts";
import { configFromWidths, defaultKernels, normalInit, onBackend, prefixTrainedForm, resultTensor, seqDims, stepDims, trainedFormOf } from "./common.ts";
import type { Cache, ModelFamily, Params, State, TrainedForm } from "./types.ts";

export interface StackConfig {
  d_in: number;
  /** Width of the embedding and of every layer's input and output. */
  width: number;
  d_out: number;
  /** Number of recurrent layers L. */
  layers: number;
  /** The layer family's registry name, e.g. "lstm", "lru-in-out", "gated-rnn". */
  layer: string;
  /** The layer family's config without d_in / d_out (set to width by the stack), e.g. {hidden: 64}. */
  layer_config: Record<string, unknown>;
}

const objectField: Field<Record<string, unknown>> = {
  doc: "the layer family's config without its input/output widths",
  default: {},
  parse(raw) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`expected an object, got ${JSON.stringify(raw)}`);
    return raw as Record<string, unknown>;
  },
};

export const stackSchema: Schema<StackConfig> = {
  d_in: int("input width", { min: 1, max: 1 << 16 }),
  width: int("embedding / layer width", { min: 1, max: 1 << 16 }),
  d_out: int("output width", { min: 1, max: 1 << 16 }),
  layers: int("number of recurrent layers", { min: 1, max: 64, default: 1 }),
  layer: { doc: "layer family name", parse: (raw) => { if (typeof raw !== "string") throw new Error(`expected a family name, got ${JSON.stringify(raw)}`); return raw; } },
  layer_config: objectField,
};

/** Builds the stack family over a family lookup (the registry passes its own, which avoids an import cycle). */
export function makeStackFamily(lookup: (name: string) => ModelFamily): ModelFamily<StackConfig> {
  /** The l-th layer's family and full config (d_in = d_out = width; other width keys are the family's own). */
  function layerOf(c: StackConfig): { fam: ModelFamily; cfg: unknown } {
    if (c.layer === "stack") throw new Error("stack: a stack's layers cannot be stacks");
    const fam = lookup(c.layer);
    for (const key of fam.widthKeys) {
      if (key in c.layer_config) throw new Error(`stack.layer_config: "${key}" is set by the stack (width), remove it`);
    }
    return { fam, cfg: configFromWidths(fam, c.layer_config, c.width, c.width, `stack.layer_config (${c.layer})`) };
  }

  /** Layer l's parameter object: the tensors under "layers.<l>." without the prefix. */
  function layerParams(p: Params<StackConfig>, l: number, fam: ModelFamily, cfg: unknown): Params {
    const prefix = `layers.${l}.`;
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(p.tensors)) if (name.startsWith(prefix)) tensors[name.slice(prefix.length)] = t;
    return { family: fam.name, config: cfg, tensors };
  }

  const family: ModelFamily<StackConfig> = {
    name: "stack",
    summary: "Section 3.3 stack: linear embedding -> L recurrent layers of one family -> linear readout",
    schema: stackSchema,
    dims: (c) => ({ dIn: c.d_in, dOut: c.d_out }),
    widthKeys: ["d_in", "d_out"],
    shapes(c) {
      const { fam, cfg } = layerOf(c);
      const out: Record<string, number[]> = { embed: [c.width, c.d_in] };
      for (let l = 0; l < c.layers; l++) {
        for (const [name, s] of Object.entries(fam.shapes(cfg))) out[`layers.${l}.${name}`] = s;
      }
      out.readout = [c.d_out, c.width];
      return out;
    },
    init(rng, c, dtype = "f64") {
      const { fam, cfg } = layerOf(c);
      const tensors: Record<string, Tensor> = { embed: normalInit(rng.split(), [c.width, c.d_in], dtype) };
      for (let l = 0; l < c.layers; l++) {
        const lp = fam.init(rng.split(), cfg, dtype);
        for (const [name, t] of Object.entries(lp.tensors)) tensors[`layers.${l}.${name}`] = t;
      }
      tensors.readout = normalInit(rng.split(), [c.d_out, c.width], dtype);
      return { family: "stack", config: { ...c, layer_config: { ...c.layer_config } }, tensors };
    },
    forward(p, x, k = defaultKernels(p)) {
      const [B, T] = seqDims(x, p.config.d_in, "stack");
      const mark = k.mark();
      try {
        return resultTensor(k, [B, T, p.config.d_out], family.forwardCached!(p, x, k).y);
      } finally {
        k.release(mark);
      }
    },
    forwardCached(p, x, k) {
      // e = x embedᵀ; e <- layer_l(e); y = e readoutᵀ. Keeps each layer's input and cache.
      const c = p.config;
      const [B, T] = seqDims(x, c.d_in, "stack");
      const { fam, cfg } = layerOf(c);
      const R = B * T;
      const xs = onBackend(k, x.data);
      let e = k.alloc(R * c.width);
      k.mmNT(e, xs, onBackend(k, p.tensors.embed.data), R, c.d_in, c.width);
      const caches: Cache[] = [];
      for (let l = 0; l < c.layers; l++) {
        const r = fam.forwardCached!(layerParams(p, l, fam, cfg), { shape: [B, T, c.width], data: e }, k);
        caches.push(r.cache);
        e = r.y;
      }
      const y = k.alloc(R * c.d_out);
      k.mmNT(y, e, onBackend(k, p.tensors.readout.data), R, c.width, c.d_out);
      return { y, cache: { B, T, x: xs, top: e, caches } };
    },
    backward(p, cache, dy, k) {
      // dreadout = dyᵀ top; de = dy readout; layers in reverse; dembed = deᵀ x; dx = de embed.
      const c = p.config;
      const { fam, cfg } = layerOf(c);
      if (!fam.backward) throw new Error(`stack: layer family "${fam.name}" has no backward pass`);
      const { B, T } = cache;
      const { x, top, caches } = cache as unknown as { x: Float; top: Float; caches: Cache[] };
      const R = B * T;
      const grads: Record<string, Float> = {};
      grads.readout = k.alloc(c.d_out * c.width);
      k.mmTN(grads.readout, dy, top, c.d_out, R, c.width);
      let de = k.alloc(R * c.width);
      k.mm(de, dy, onBackend(k, p.tensors.readout.data), R, c.d_out, c.width);
      for (let l = c.layers - 1; l >= 0; l--) {
        const r = fam.backward(layerParams(p, l, fam, cfg), caches[l], de, k);
        for (const [name, g] of Object.entries(r.grads)) grads[`layers.${l}.${name}`] = g;
        de = r.dx;
      }
      grads.embed = k.alloc(c.width * c.d_in);
      k.mmTN(grads.embed, de, x, c.width, R, c.d_in);
      const dx = k.alloc(R * c.d_in);
      k.mm(dx, de, onBackend(k, p.tensors.embed.data), R, c.width, c.d_in);
      return { grads, dx };
    },
    trained(c) {
      // each layer's own trained form under its prefix; embed and readout as stored, with weight decay
      const { fam, cfg } = layerOf(c);
      const form: TrainedForm = { reparams: {}, noDecay: [] };
      for (let l = 0; l < c.layers; l++) {
        const lf = prefixTrainedForm(trainedFormOf(fam, cfg), `layers.${l}.`);
        Object.assign(form.reparams, lf.reparams);
        form.noDecay.push(...lf.noDecay);
      }
      return form;
    },
    initState(p, B) {
      const { fam, cfg } = layerOf(p.config);
      const s: State = {};
      for (let l = 0; l < p.config.layers; l++) {
        for (const [name, buf] of Object.entries(fam.initState(layerParams(p, l, fam, cfg), B))) s[`layers.${l}.${name}`] = buf;
      }
      return s;
    },
    step(p, state, x, k = defaultKernels(p)) {
      const c = p.config;
      const B = stepDims(x, c.d_in, "stack");
      const { fam, cfg } = layerOf(c);
      const mark = k.mark();
      try {
        const e = k.alloc(B * c.width);
        k.mmNT(e, onBackend(k, x.data), onBackend(k, p.tensors.embed.data), B, c.d_in, c.width);
        let h: Tensor = resultTensor(k, [B, c.width], e);
        const next: State = {};
        for (let l = 0; l < c.layers; l++) {
          const prefix = `layers.${l}.`;
          const ls: State = {};
          for (const [name, buf] of Object.entries(state)) if (name.startsWith(prefix)) ls[name.slice(prefix.length)] = buf;
          const r = fam.step(layerParams(p, l, fam, cfg), ls, h, k);
          for (const [name, buf] of Object.entries(r.state)) next[prefix + name] = buf;
          h = r.y;
        }
        const y = k.alloc(B * c.d_out);
        k.mmNT(y, onBackend(k, h.data), onBackend(k, p.tensors.readout.data), B, c.width, c.d_out);
        return { state: next, y: resultTensor(k, [B, c.d_out], y) };
      } finally {
        k.release(mark);
      }
    },
  };
  return family;
}
