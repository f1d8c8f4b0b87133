/** Healthcheck config: Go durations, docker/cli's --health-* flags, the daemon's merge and checks. */
import { describe, expect, it } from 'vitest';
import { formatGoDuration, healthSchedule, parseGoDuration, parseHealthFlags, refuseHealthcheck, resolveHealthcheck, validateHealthConfig } from '../../../src/runtime/spec/health.ts';
import { parseRunFlags } from '../../../src/runtime/spec/options.ts';
import { resolveContainerSpec } from '../../../src/runtime/spec/container-spec.ts';

const MS = 1_000_000;
const S = 1000 * MS;

describe('Go durations', () => {
  it('parses what time.ParseDuration parses', () => {
    expect(parseGoDuration('200ms')).toBe(200 * MS);
    expect(parseGoDuration('1m30s')).toBe(90 * S);
    expect(parseGoDuration('1.5h')).toBe(5400 * S);
    expect(parseGoDuration('.5s')).toBe(500 * MS);
    expect(parseGoDuration('-2s')).toBe(-2 * S);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('10us')).toBe(10_000);
    expect(parseGoDuration('10µs')).toBe(10_000);
  });
  it("refuses with Go's words", () => {
    expect(() => parseGoDuration('30')).toThrow('time: missing unit in duration "30"');
    expect(() => parseGoDuration('3x')).toThrow('time: unknown unit "x" in duration "3x"');
    expect(() => parseGoDuration('')).toThrow('time: invalid duration ""');
    expect(() => parseGoDuration('s')).toThrow('time: invalid duration "s"');
    expect(() => parseGoDuration('1s-')).toThrow('time: unknown unit "s-" in duration "1s-"');
  });
  it("formats as Duration.String()", () => {
    expect(formatGoDuration(200 * MS)).toBe('200ms');
    expect(formatGoDuration(1500 * MS)).toBe('1.5s');
    expect(formatGoDuration(90 * S)).toBe('1m30s');
    expect(formatGoDuration(3600 * S)).toBe('1h0m0s');
    expect(formatGoDuration(30 * S)).toBe('30s');
    expect(formatGoDuration(1_500_000 + 1000)).toBe('1.501ms');
    expect(formatGoDuration(0)).toBe('0s');
  });
});

describe('--health-* flags', () => {
  it('builds a CMD-SHELL config; zero flags count as not given', () => {
    expect(parseHealthFlags({ healthCmd: 'test -f /ok', healthInterval: '200ms', healthRetries: '2', healthStartPeriod: '1s', healthStartInterval: '100ms', healthTimeout: '1s' }))
      .toEqual({ Test: ['CMD-SHELL', 'test -f /ok'], Interval: 200 * MS, Timeout: S, StartPeriod: S, StartInterval: 100 * MS, Retries: 2 });
    expect(parseHealthFlags({ healthInterval: '0s' })).toBeUndefined();
    expect(parseHealthFlags({ healthInterval: '5s' })).toEqual({ Test: [], Interval: 5 * S });
    expect(parseHealthFlags({ noHealthcheck: true })).toEqual({ Test: ['NONE'] });
  });
  it("refuses as docker/cli does", () => {
    expect(() => parseHealthFlags({ noHealthcheck: true, healthCmd: 'true' })).toThrow('--no-healthcheck conflicts with --health-* options');
    expect(() => parseHealthFlags({ noHealthcheck: true, healthRetries: 2 })).toThrow('--no-healthcheck conflicts with --health-* options');
    expect(() => parseHealthFlags({ healthInterval: '-1s' })).toThrow('--health-interval cannot be negative');
    expect(() => parseHealthFlags({ healthTimeout: '-1s' })).toThrow('--health-timeout cannot be negative');
    expect(() => parseHealthFlags({ healthRetries: '-1' })).toThrow('--health-retries cannot be negative');
    expect(() => parseHealthFlags({ healthStartPeriod: '-1s' })).toThrow('--health-start-period cannot be negative');
    expect(() => parseHealthFlags({ healthStartInterval: '-1s' })).toThrow('--health-start-interval cannot be negative');
    expect(() => parseHealthFlags({ healthInterval: '30' })).toThrow('invalid argument "30" for "--health-interval" flag: time: missing unit in duration "30"');
    expect(() => parseHealthFlags({ healthRetries: 'x' })).toThrow('invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": invalid syntax');
  });
  it('reach RunOptions through parseRunFlags, with the daemon\'s minimum', () => {
    expect(parseRunFlags({ healthCmd: 'true', healthInterval: '1s' }).healthcheck).toEqual({ Test: ['CMD-SHELL', 'true'], Interval: S });
    expect(() => parseRunFlags({ healthCmd: 'true', healthInterval: '10us' })).toThrow('Interval in Healthcheck cannot be less than 1ms');
    expect(parseRunFlags({}).healthcheck).toBeUndefined();
  });
});

describe('the daemon checks and merge', () => {
  it('validates the API form', () => {
    expect(() => validateHealthConfig({ Test: ['CMD', 'true'], Timeout: 5 })).toThrow('Timeout in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthConfig({ Test: ['CMD', 'true'], Retries: -1 })).toThrow('Retries in Healthcheck cannot be negative');
    expect(() => validateHealthConfig({ Test: ['CMD', 'true'], StartPeriod: -S })).toThrow('StartPeriod in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthConfig({ Test: ['CMD', 'true'], StartInterval: 1 })).toThrow('StartInterval in Healthcheck cannot be less than 1ms');
    expect(() => validateHealthConfig({ Test: ['CMD', 'true'], Interval: 1.5 })).toThrow('Healthcheck.Interval');
    expect(() => validateHealthConfig({ Test: ['CMD', 'true'], Interval: MS, Timeout: MS })).not.toThrow();
  });
  it("fills the user's zero fields from the image's", () => {
    const image = { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 10 * S, Timeout: 3 * S, Retries: 5 };
    expect(resolveHealthcheck(image, undefined)).toEqual({ config: image, probe: ['/bin/sh', '-c', 'curl -f localhost'] });
    expect(resolveHealthcheck(image, { Test: [], Interval: S })).toEqual({ config: { ...image, Interval: S }, probe: ['/bin/sh', '-c', 'curl -f localhost'] });
    expect(resolveHealthcheck(image, { Test: ['CMD', 'true'] })).toEqual({ config: { ...image, Test: ['CMD', 'true'] }, probe: ['true'] });
    expect(resolveHealthcheck(image, { Test: ['NONE'] })).toEqual({ config: { ...image, Test: ['NONE'] } });
    expect(resolveHealthcheck(undefined, { Test: [], Interval: S })).toEqual({ config: { Test: [], Interval: S } });
    expect(resolveHealthcheck(undefined, undefined)).toBeUndefined();
    // CMD-SHELL goes through the image's SHELL.
    expect(resolveHealthcheck({ Test: ['CMD-SHELL', 'x'] }, undefined, ['/bin/bash', '-ec'])?.probe).toEqual(['/bin/bash', '-ec', 'x']);
  });
  it('refuses tests that could never run', () => {
    expect(() => resolveHealthcheck(undefined, { Test: ['CMD'] })).toThrow('has no command');
    expect(() => resolveHealthcheck(undefined, { Test: ['CMD-SHELL', ''] })).toThrow('has no command');
    expect(() => resolveHealthcheck(undefined, { Test: ['BOGUS', 'x'] })).toThrow('unknown healthcheck type "BOGUS"');
  });
  it("schedules with Docker's defaults", () => {
    expect(healthSchedule({ Test: ['CMD', 'true'] })).toEqual({ intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3 });
    expect(healthSchedule({ Test: ['CMD', 'true'], Interval: 200 * MS, Retries: 1 })).toMatchObject({ intervalMs: 200, retries: 1 });
  });
  it('lands in the container spec and is refused for a wasm module', () => {
    const spec = resolveContainerSpec({ id: 'a'.repeat(64), image: { Cmd: ['sleep', '9'], Healthcheck: { Test: ['CMD', 'true'], Interval: S } }, run: { healthcheck: { Test: [], Retries: 2 } } });
    expect(spec.healthcheck).toEqual({ config: { Test: ['CMD', 'true'], Interval: S, Retries: 2 }, probe: ['true'] });
    expect(() => refuseHealthcheck(spec.healthcheck, 'wasi', 'wasip1/wasm')).toThrow(/wasip1\/wasm container .* cannot exec a probe .*--no-healthcheck/);
    expect(() => refuseHealthcheck(spec.healthcheck, 'vm', 'linux/386')).not.toThrow();
    expect(() => refuseHealthcheck({ config: { Test: ['NONE'] } }, 'wasi', 'wasip1/wasm')).not.toThrow();
  });
});
