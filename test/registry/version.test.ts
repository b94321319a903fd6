import { describe, expect, it } from 'vitest';
import { compareVersionsDesc, isVersion, nextVersion } from '../../src/registry/index.js';

describe('nextVersion', () => {
  it('starts at v1.0.0 and bumps patch, minor or major', () => {
    expect(nextVersion(undefined)).toBe('v1.0.0');
    expect(nextVersion(undefined, 'major')).toBe('v1.0.0');
    expect(nextVersion('v1.2.3')).toBe('v1.2.4');
    expect(nextVersion('v1.2.3', 'minor')).toBe('v1.3.0');
    expect(nextVersion('v1.2.3', 'major')).toBe('v2.0.0');
  });

  it('rejects a malformed current version with TRN_ERR_MODEL_INVALID_VERSION', () => {
    expect(() => nextVersion('1.2.3')).toThrow(expect.objectContaining({ code: 'TRN_ERR_MODEL_INVALID_VERSION' }));
  });
});

describe('isVersion', () => {
  it('accepts only v + plain semver without prerelease, build or leading zeros', () => {
    for (const v of ['v0.0.0', 'v1.0.0', 'v10.20.30']) expect(isVersion(v), v).toBe(true);
    for (const v of ['1.0.0', 'v1.0', 'v1.0.0-rc.1', 'v1.0.0+b', 'v01.0.0', 'V1.0.0', 'v1.0.0\n', 'v1.0.0/..', '', 7]) {
      expect(isVersion(v), String(v)).toBe(false);
    }
  });

  it('sorts newest first numerically', () => {
    expect(['v1.9.0', 'v1.10.0', 'v1.0.10'].sort(compareVersionsDesc)).toEqual(['v1.10.0', 'v1.9.0', 'v1.0.10']);
  });
});
