/** Tests start dynalite the way the local server does. */
export { startDynalite, type DynaliteServer } from "../../lambdas/local/dynalite.js";
