// What the browser tests share: a pause, and a wait for a condition with a deadline.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until(COND, MS, WHAT[, STEP]): COND() every STEP ms until it is true; after MS ms it throws
// "timed out (S s) waiting for WHAT".
export const until = async (cond, ms, what, step = 250) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await cond()) return true; await sleep(step); }
  throw new Error(`timed out (${ms / 1000} s) waiting for ${what}`);
};
