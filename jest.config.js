/**
 * Two projects, both run by `npm test`:
 * - unit: needs nothing but Node.js and Debian's essential tools (sh, coreutils, findutils, tar). No daemon, no
 *   dnsmasq, busybox, cpio, glusterfs, QEMU, ssh, kernel or Pulumi engine: `npx jest --selectProjects unit` passes
 *   on any machine with the npm packages.
 * - integration: the real engine, daemons in network namespaces, and every test that reads or runs a tool
 *   installed on this machine. That is test/integration/ plus any `*.tool.test.ts`, which stays beside the pure
 *   tests of the same module (test/render/cpio.test.ts and cpio.tool.test.ts) so a module's tests are found together.
 */
const base = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "test/tsconfig.json" }] },
};
module.exports = {
  projects: [
    { ...base, displayName: "unit", testMatch: ["<rootDir>/test/**/*.test.ts"], testPathIgnorePatterns: ["/integration/", "\\.tool\\.test\\.ts$", "/node_modules/", "/test/.work/"] },
    { ...base, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts", "<rootDir>/test/**/*.tool.test.ts"], testPathIgnorePatterns: ["/node_modules/", "/test/.work/"] },
  ],
};
