import { connectToControlPlane } from "./connect.js";

// With ALOFT_API_URL set, flows run in this process are recorded in that control plane (as Prefect
// does with PREFECT_API_URL). Once per process, even if two copies of the SDK are loaded.
const slots = globalThis as typeof globalThis & { [key: symbol]: unknown };
const CONNECTED = Symbol.for("aloft.autoConnected");
if (process.env.ALOFT_API_URL && !slots[CONNECTED]) {
  slots[CONNECTED] = true;
  connectToControlPlane();
}
