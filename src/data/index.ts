// Public surface of data/, re-exported by src/index.ts as `data`.
export {};
