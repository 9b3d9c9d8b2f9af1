/**
 * A hyperparameter sweep: every (learning rate, epochs) pair of a grid trains a linear model in its
 * own `train-linear-model` subflow, which cross-validates by mapping `fit-fold` over the folds. The
 * sweep picks the candidate with the lowest validation error and publishes a Markdown report.
 *
 * The data is generated (y = 3x + 2 plus noise) from a seeded generator, so every run trains the same
 * models and picks the same winner.
 *
 * Run it: `npx aloft run examples/ml-sweep.ts`
 */
import { Abort, flow, log, task } from "aloft";
import { z } from "zod";

/** One training example. */
export interface Point {
  x: number;
  y: number;
}

/** What one fold of cross-validation learned and how well it did on the fold it held out, or that it diverged. */
export type FoldResult = { fold: number; diverged: false; weight: number; bias: number; validationMse: number } | { fold: number; diverged: true };

/** What one candidate (one point of the grid) scored, averaged over its folds. */
export interface Candidate {
  learningRate: number;
  epochs: number;
  weight: number | null;
  bias: number | null;
  /** Null when training diverged on any fold. */
  validationMse: number | null;
}

/**
 * A deterministic pseudo-random generator (mulberry32): the same seed gives the same numbers.
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // 0.6011037519201636, every time
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `size` points on the line y = 3x + 2 with x in [-1, 1] and noise of up to ±0.2.
 *
 * @example
 * ```ts
 * syntheticDataset(42, 120).length; // 120
 * ```
 */
export function syntheticDataset(seed: number, size: number): Point[] {
  const random = seededRandom(seed);
  return Array.from({ length: size }, () => {
    const x = random() * 2 - 1;
    return { x, y: 3 * x + 2 + (random() - 0.5) * 0.4 };
  });
}

/** Mean squared error of the line `weight·x + bias` on `points`. */
function meanSquaredError(points: readonly Point[], weight: number, bias: number): number {
  return points.reduce((sum, { x, y }) => sum + (weight * x + bias - y) ** 2, 0) / points.length;
}

/** Trains on every fold but one by full-batch gradient descent, and scores the model on the fold left out. */
export const fitFold = task({
  name: "fit-fold",
  runName: (job: { fold: number; learningRate: number; epochs: number }) => `fit-fold-${job.fold}-lr${job.learningRate}-e${job.epochs}`,
  run: async (job: { fold: number; folds: number; learningRate: number; epochs: number; seed: number; size: number }): Promise<FoldResult> => {
    const points = syntheticDataset(job.seed, job.size);
    const training = points.filter((_, index) => index % job.folds !== job.fold);
    const validation = points.filter((_, index) => index % job.folds === job.fold);

    // Full-batch gradient descent on the mean squared error.
    let weight = 0;
    let bias = 0;
    for (let epoch = 0; epoch < job.epochs; epoch++) {
      let gradWeight = 0;
      let gradBias = 0;
      for (const { x, y } of training) {
        const error = weight * x + bias - y;
        gradWeight += (2 * error * x) / training.length;
        gradBias += (2 * error) / training.length;
      }
      weight -= job.learningRate * gradWeight;
      bias -= job.learningRate * gradBias;
    }
    // Diverged: training made the model worse than the untrained one (a learning rate too large).
    const trainingLoss = meanSquaredError(training, weight, bias);
    if (!(Number.isFinite(trainingLoss) && trainingLoss <= meanSquaredError(training, 0, 0))) {
      log.warn(`diverged with learning rate ${job.learningRate}`, { fold: job.fold, trainingLoss });
      return { fold: job.fold, diverged: true };
    }
    const validationMse = meanSquaredError(validation, weight, bias);
    return { fold: job.fold, diverged: false, weight: round(weight), bias: round(bias), validationMse: round(validationMse) };
  },
});

/** Cross-validates one candidate: one `fit-fold` task run per fold, scores averaged. */
export const trainLinearModel = flow({
  name: "train-linear-model",
  params: z.object({
    learningRate: z.coerce.number().positive(),
    epochs: z.coerce.number().int().positive(),
    folds: z.coerce.number().int().min(2).default(3),
    seed: z.coerce.number().int().default(42),
    size: z.coerce.number().int().min(10).default(120),
  }),
  run: async ({ learningRate, epochs, folds, seed, size }): Promise<Candidate> => {
    const jobs = Array.from({ length: folds }, (_, fold) => ({ fold, folds, learningRate, epochs, seed, size }));
    const results = await fitFold.map(jobs);
    const fitted = results.flatMap((result) => (result.diverged ? [] : [result]));
    if (fitted.length < results.length) return { learningRate, epochs, weight: null, bias: null, validationMse: null };
    const mean = (values: number[]) => round(values.reduce((sum, value) => sum + value, 0) / values.length);
    return {
      learningRate,
      epochs,
      weight: mean(fitted.map((result) => result.weight)),
      bias: mean(fitted.map((result) => result.bias)),
      validationMse: mean(fitted.map((result) => result.validationMse)),
    };
  },
});

const mlSweep = flow({
  name: "ml-sweep",
  description: "Grid search over learning rate and epochs for a linear model, by 3-fold cross-validation.",
  // Bounds the fit-fold task runs in flight across all the training subflows.
  taskConcurrency: 4,
  params: z.object({
    learningRates: z.array(z.coerce.number().positive()).nonempty().default([0.01, 0.1, 0.5, 1.5]),
    epochs: z.array(z.coerce.number().int().positive()).nonempty().default([5, 20]),
    seed: z.coerce.number().int().default(42),
  }),
  run: async ({ learningRates, epochs, seed }, ctx) => {
    const grid = learningRates.flatMap((learningRate) => epochs.map((epochCount) => ({ learningRate, epochs: epochCount })));
    ctx.log.info(`training ${grid.length} candidates`);
    const candidates = await Promise.all(grid.map((point) => trainLinearModel({ ...point, seed })));

    const ranked = candidates
      .filter((candidate): candidate is Candidate & { validationMse: number } => candidate.validationMse !== null)
      .sort((a, b) => a.validationMse - b.validationMse);
    const best = ranked[0];
    if (!best) throw new Abort(`all ${grid.length} candidates diverged; try smaller learning rates`);

    const rows = candidates.map(
      (c) => `| ${c.learningRate} | ${c.epochs} | ${c.validationMse ?? "diverged"} | ${c.weight ?? "–"} | ${c.bias ?? "–"} |`,
    );
    ctx.artifact.markdown(
      "sweep-report",
      [
        `# Sweep: best is learning rate ${best.learningRate}, ${best.epochs} epochs`,
        "",
        `Validation MSE ${best.validationMse}; learned y = ${best.weight}·x + ${best.bias} (true line: y = 3x + 2).`,
        "",
        "| learning rate | epochs | validation MSE | weight | bias |",
        "|---|---|---|---|---|",
        ...rows,
      ].join("\n"),
      "Every candidate of the grid, by 3-fold cross-validation",
    );
    ctx.log.info(`best: learning rate ${best.learningRate}, ${best.epochs} epochs`, { validationMse: best.validationMse });
    return { best, candidates };
  },
});

export default mlSweep;

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
