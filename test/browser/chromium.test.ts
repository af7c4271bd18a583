import { describe, expect, it } from 'vitest';
import { requireChromium } from './chromium.js';

/** Without Chromium the browser tests fail, naming the install command: they never pass silently. */
describe('requireChromium', () => {
  it('throws with the install command when the executable is missing', () => {
    expect(() => requireChromium('/nonexistent/chromium')).toThrow(
      /Chromium is missing at \/nonexistent\/chromium.*\n\n {4}apt-get update && apt-get install -y chromium/s,
    );
  });
});
