import { describe, expect, it } from 'vitest';
import { dayBounds, duration, money, nyDateTime, nyDay, nyOffsetSeconds, percent, signedMoney, tone } from './format';

describe('money', () => {
  it('formats exact decimal strings as dollars with two places', () => {
    expect(money('1234.5')).toBe('$1,234.50');
    expect(money('-21.7')).toBe('-$21.70');
    expect(money(null)).toBe('—');
    expect(money('not a number')).toBe('—');
  });

  it('puts a sign on profit and loss, and none on zero', () => {
    expect(signedMoney('12.3')).toBe('+$12.30');
    expect(signedMoney('-4')).toBe('−$4.00');
    expect(signedMoney('0.00')).toBe('$0.00');
    expect(tone('-0.01')).toBe('neg');
    expect(tone('0')).toBe('');
    expect(tone('3')).toBe('pos');
  });

  it('shows fractions as percentages', () => {
    expect(percent('0.3125')).toBe('31.25%');
    expect(percent('0.3485', 1)).toBe('34.9%');
    expect(percent(null)).toBe('—');
  });
});

describe('New York time', () => {
  it('shows moments on the market clock across the DST change', () => {
    expect(nyDateTime('2024-10-31T13:30:00Z')).toBe('2024-10-31 09:30'); // EDT, UTC-4
    expect(nyDateTime('2024-11-04T14:30:00Z')).toBe('2024-11-04 09:30'); // EST, UTC-5
    expect(nyDay('2024-11-01T02:00:00Z')).toBe('2024-10-31');
  });

  it('knows the offset from UTC', () => {
    expect(nyOffsetSeconds(Date.parse('2024-10-31T13:30:00Z'))).toBe(-4 * 3600);
    expect(nyOffsetSeconds(Date.parse('2024-11-04T14:30:00Z'))).toBe(-5 * 3600);
  });

  it('gives a day as naive New York bounds, end exclusive', () => {
    expect(dayBounds('2024-10-31')).toEqual({ start: '2024-10-31T00:00:00', end: '2024-11-01T00:00:00' });
    expect(dayBounds('2024-12-31').end).toBe('2025-01-01T00:00:00');
  });

  it('says how long until the bell', () => {
    expect(duration(45_000)).toBe('45s');
    expect(duration(12 * 60_000)).toBe('12m');
    expect(duration(65 * 60_000)).toBe('1h 05m');
    expect(duration(26 * 3_600_000)).toBe('1d 2h');
    expect(duration(-5)).toBe('0s');
  });
});
