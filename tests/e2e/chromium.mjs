// Launches Debian's system Chromium through playwright-core, for end-to-end tests and
// benchmarks. Never `npx playwright install`: it downloads a browser, and the network here
// reaches package registries only. The flags keep Chromium off the network and quiet.

import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.LOGSIM_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
  });
}
