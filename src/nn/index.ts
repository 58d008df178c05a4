// Public surface of nn/, re-exported by src/index.ts as `nn`.
export {};
