import { describe, expect, it } from 'vitest';
import { activeMaintenanceWindow, isWindowActive, wallClock } from '../../../src/remediator/guards/maintenance.ts';
import type { MaintenanceWindow } from '../../../src/remediator/settings.ts';

const at = (iso: string): number => Date.parse(iso);
const weekly = (weekdays: number[], start: string, end: string, timezone = 'UTC'): MaintenanceWindow => {
  const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
  return { name: `${weekdays.join(',')} ${start}-${end} ${timezone}`, kind: 'weekly', weekdays, startMinute: minutes(start), endMinute: minutes(end), timezone };
};
const SUN = 0;
const MON = 1;
const WED = 3;
const SAT = 6;
const WEEKDAYS = [1, 2, 3, 4, 5];

describe('weekly maintenance windows', () => {
  // 2026-11-21 is a Saturday, 2026-11-22 a Sunday.
  it.each<[string, MaintenanceWindow, string, boolean]>([
    ['inside a same-day window', weekly([SAT], '10:00', '12:00'), '2026-11-21T11:00:00Z', true],
    ['start is inclusive', weekly([SAT], '10:00', '12:00'), '2026-11-21T10:00:00Z', true],
    ['end is exclusive', weekly([SAT], '10:00', '12:00'), '2026-11-21T12:00:00Z', false],
    ['another weekday', weekly([SAT], '10:00', '12:00'), '2026-11-22T11:00:00Z', false],
    // sat 22:00-02:00 crosses midnight: it belongs to Saturday, the day it started.
    ['crossing midnight, before midnight', weekly([SAT], '22:00', '02:00'), '2026-11-21T23:00:00Z', true],
    ['crossing midnight, Sunday 01:00 (started Saturday)', weekly([SAT], '22:00', '02:00'), '2026-11-22T01:00:00Z', true],
    ['crossing midnight, Sunday 02:00 (ended)', weekly([SAT], '22:00', '02:00'), '2026-11-22T02:00:00Z', false],
    ['crossing midnight, Saturday 01:00 (Friday started nothing)', weekly([SAT], '22:00', '02:00'), '2026-11-21T01:00:00Z', false],
    ['crossing midnight, Sunday 23:00 (Sunday starts nothing)', weekly([SAT], '22:00', '02:00'), '2026-11-22T23:00:00Z', false],
    ['crossing midnight from Sunday into Monday', weekly([SAT, SUN], '22:00', '02:00'), '2026-11-23T01:30:00Z', true],
    // Asia/Tokyo is UTC+9: 2026-11-21T16:30Z is Sunday 01:30 there.
    ['crossing midnight in another zone', weekly([SAT], '22:00', '02:00', 'Asia/Tokyo'), '2026-11-21T16:30:00Z', true],
    ['crossing midnight in another zone, ended', weekly([SAT], '22:00', '02:00', 'Asia/Tokyo'), '2026-11-21T17:30:00Z', false],
    // America/New_York office hours follow daylight saving time: 09:00 is 14:00Z in winter, 13:00Z in summer.
    ['DST zone, winter 09:30 EST', weekly(WEEKDAYS, '09:00', '17:00', 'America/New_York'), '2026-01-14T14:30:00Z', true],
    ['DST zone, winter 08:30 EST', weekly(WEEKDAYS, '09:00', '17:00', 'America/New_York'), '2026-01-14T13:30:00Z', false],
    ['DST zone, summer 09:30 EDT', weekly(WEEKDAYS, '09:00', '17:00', 'America/New_York'), '2026-07-15T13:30:00Z', true],
    ['DST zone, winter 16:30 EST', weekly(WEEKDAYS, '09:00', '17:00', 'America/New_York'), '2026-01-14T21:30:00Z', true],
    ['DST zone, summer 17:30 EDT', weekly(WEEKDAYS, '09:00', '17:00', 'America/New_York'), '2026-07-15T21:30:00Z', false],
    // Europe/Berlin springs forward on 2026-03-29 at 02:00 CET to 03:00 CEST.
    ['DST change day, 01:30 CET', weekly([SUN], '01:00', '04:00', 'Europe/Berlin'), '2026-03-29T00:30:00Z', true],
    ['DST change day, 03:30 CEST', weekly([SUN], '01:00', '04:00', 'Europe/Berlin'), '2026-03-29T01:30:00Z', true],
    ['DST change day, 04:30 CEST', weekly([SUN], '01:00', '04:00', 'Europe/Berlin'), '2026-03-29T02:30:00Z', false],
  ])('%s', (_name, window, iso, expected) => {
    expect(isWindowActive(window, at(iso))).toBe(expected);
  });

  it('reads weekday and minute of day in the zone', () => {
    expect(wallClock('UTC', at('2026-11-22T00:05:00Z'))).toEqual({ weekday: SUN, minute: 5 });
    expect(wallClock('America/New_York', at('2026-11-22T00:05:00Z'))).toEqual({ weekday: SAT, minute: 19 * 60 + 5 });
    expect(wallClock('Asia/Kolkata', at('2026-01-14T18:40:00Z'))).toEqual({ weekday: 4, minute: 10 });
    expect(wallClock('UTC', at('2026-01-14T00:00:00Z'))).toEqual({ weekday: WED, minute: 0 });
    expect(wallClock('UTC', at('2026-11-23T23:59:00Z'))).toEqual({ weekday: MON, minute: 1439 });
  });
});

describe('absolute maintenance windows and the first active window', () => {
  const migration: MaintenanceWindow = { name: 'migration', kind: 'absolute', fromMs: at('2026-12-01T00:00:00Z'), toMs: at('2026-12-01T06:00:00Z') };

  it.each([
    ['2026-11-30T23:59:59Z', false],
    ['2026-12-01T00:00:00Z', true],
    ['2026-12-01T05:59:59Z', true],
    ['2026-12-01T06:00:00Z', false],
  ])('at %s: %s', (iso, expected) => {
    expect(isWindowActive(migration, at(iso))).toBe(expected);
  });

  it('returns the first active window in configured order, or undefined', () => {
    const tuesdays = weekly([2], '00:00', '12:00');
    expect(activeMaintenanceWindow([tuesdays, migration], at('2026-12-01T01:00:00Z'))?.name).toBe(tuesdays.name); // a Tuesday
    expect(activeMaintenanceWindow([migration, tuesdays], at('2026-12-01T01:00:00Z'))?.name).toBe('migration');
    expect(activeMaintenanceWindow([migration, tuesdays], at('2026-12-01T13:00:00Z'))).toBeUndefined();
    expect(activeMaintenanceWindow([], at('2026-12-01T01:00:00Z'))).toBeUndefined();
  });
});
