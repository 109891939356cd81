"""Unit conversions, in one place. Times on the event and noise axes are integer nanoseconds."""

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_H = 3_600 * NS_PER_S
S_PER_US = 1e-6
S_PER_NS = 1e-9
S_PER_MIN = 60.0
S_PER_H = 3_600.0
S_PER_DAY = 86_400.0
US_PER_S = 1e6
MS_PER_S = 1e3
HZ_PER_KHZ = 1e3
ABSOLUTE_ZERO_C = -273.15
