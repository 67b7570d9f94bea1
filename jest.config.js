/** Unit tests are fast and need nothing installed; integration tests use the real engine and daemons. */
const base = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "test/tsconfig.json" }] },
};
module.exports = {
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/**/*.test.ts"], testPathIgnorePatterns: ["/integration/", "/node_modules/", "/test/.work/"] },
    { ...base, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"], testPathIgnorePatterns: ["/node_modules/", "/test/.work/"] },
  ],
};
