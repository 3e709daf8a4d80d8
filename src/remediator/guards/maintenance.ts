// Maintenance windows: while one is active the remediator records alerts but does not act.
import type { MaintenanceWindow } from '../settings.ts';

const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The first window active at `nowMs`, or undefined. */
export function activeMaintenanceWindow(windows: readonly MaintenanceWindow[], nowMs: number): MaintenanceWindow | undefined {
  return windows.find((window) => isWindowActive(window, nowMs));
}

/**
 * Absolute windows are [from, to). Weekly windows compare wall-clock time in their zone, so they
 * follow daylight saving time; one that ends before it starts crosses midnight and belongs to the
 * day it started on (sat 22:00-02:00 is active early on Sunday, not early on Saturday).
 */
export function isWindowActive(window: MaintenanceWindow, nowMs: number): boolean {
  if (window.kind === 'absolute') return nowMs >= window.fromMs && nowMs < window.toMs;
  const { weekday, minute } = wallClock(window.timezone, nowMs);
  const { weekdays, startMinute, endMinute } = window;
  if (startMinute < endMinute) return weekdays.includes(weekday) && minute >= startMinute && minute < endMinute;
  const startedToday = weekdays.includes(weekday) && minute >= startMinute;
  const startedYesterday = weekdays.includes((weekday + 6) % 7) && minute < endMinute;
  return startedToday || startedYesterday;
}

/** Day of week (0 = Sunday) and minute of the day at an instant, in an IANA time zone. */
export function wallClock(timezone: string, nowMs: number): { weekday: number; minute: number } {
  let formatter = formatters.get(timezone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(nowMs).map((part) => [part.type, part.value]));
  return { weekday: WEEKDAY_INDEX[parts.weekday as string] as number, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}
