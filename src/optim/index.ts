// Public surface of optim/, re-exported by src/index.ts as `optim`.
export {};
