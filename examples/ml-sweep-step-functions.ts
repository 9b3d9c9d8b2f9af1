/**
 * The hyperparameter sweep of `ml-sweep.ts` shaped for AWS Step Functions. The grid is fixed in the
 * code, so the candidates train in one Parallel state, each in its own child state machine
 * (`train-linear-model-step-functions`); the fold list, the averaging and the pick of the winner are
 * tasks, since a state machine cannot run JavaScript between states. When every candidate diverges
 * `pick-best` aborts, and the execution fails without a retry.
 *
 * Compile it: `npx aloft compile examples/ml-sweep-step-functions.ts --graph`
 * Run it locally: `npx aloft run examples/ml-sweep-step-functions.ts`
 */
import { Abort, flow, task } from "aloft";
import { z } from "zod";
import { fitFold, type Candidate, type FoldResult } from "./ml-sweep.js";

/** The points of the grid: learning rate × epochs. */
export const GRID: readonly { learningRate: number; epochs: number }[] = [0.01, 0.1, 0.5, 1.5].flatMap((learningRate) =>
  [5, 20].map((epochs) => ({ learningRate, epochs })),
);

/** One training setting, as `train-linear-model-step-functions` takes it. */
export interface TrainingSetting {
  learningRate: number;
  epochs: number;
  folds: number;
  seed: number;
  size: number;
}

/** One `fit-fold` job per fold of the cross-validation. */
export const foldJobs = task({
  name: "fold-jobs",
  run: async (setting: TrainingSetting) => Array.from({ length: setting.folds }, (_, fold) => ({ fold, ...setting })),
});

/** Averages the folds of one candidate; a candidate that diverged on any fold has no score. */
export const scoreCandidate = task({
  name: "score-candidate",
  run: async (input: { learningRate: number; epochs: number; results: FoldResult[] }): Promise<Candidate> => {
    const { learningRate, epochs, results } = input;
    const fitted = results.flatMap((result) => (result.diverged ? [] : [result]));
    if (fitted.length < results.length) return { learningRate, epochs, weight: null, bias: null, validationMse: null };
    const mean = (values: number[]) => Math.round((values.reduce((sum, value) => sum + value, 0) / values.length) * 1e6) / 1e6;
    return {
      learningRate,
      epochs,
      weight: mean(fitted.map((result) => result.weight)),
      bias: mean(fitted.map((result) => result.bias)),
      validationMse: mean(fitted.map((result) => result.validationMse)),
    };
  },
});

/** The candidate with the lowest validation error; aborts when all of them diverged. */
export const pickBest = task({
  name: "pick-best",
  run: async (candidates: Candidate[]): Promise<Candidate & { validationMse: number }> => {
    const ranked = candidates
      .filter((candidate): candidate is Candidate & { validationMse: number } => candidate.validationMse !== null)
      .sort((a, b) => a.validationMse - b.validationMse);
    const best = ranked[0];
    if (!best) throw new Abort(`all ${candidates.length} candidates diverged; try smaller learning rates`);
    return best;
  },
});

/** Cross-validates one candidate: one `fit-fold` per fold (a Map state), then the average. */
export const trainLinearModelStepFunctions = flow({
  name: "train-linear-model-step-functions",
  params: z.object({
    learningRate: z.coerce.number().positive(),
    epochs: z.coerce.number().int().positive(),
    folds: z.coerce.number().int().min(2).default(3),
    seed: z.coerce.number().int().default(42),
    size: z.coerce.number().int().min(10).default(120),
  }),
  run: async (setting): Promise<Candidate> => {
    const jobs = await foldJobs(setting);
    const results = await fitFold.map(jobs);
    return scoreCandidate({ learningRate: setting.learningRate, epochs: setting.epochs, results });
  },
});

export default flow({
  name: "ml-sweep-step-functions",
  description: "Grid search over learning rate and epochs for a linear model, one child state machine per candidate.",
  params: z.object({ seed: z.coerce.number().int().default(42) }),
  run: async ({ seed }) => {
    const candidates = await Promise.all(GRID.map((point) => trainLinearModelStepFunctions({ ...point, seed })));
    const best = await pickBest(candidates);
    return { best, candidates };
  },
});
