export { ProvinceSimulator, dossierPrefix, type SimulatedCloudEvent, type SimulatedEvent, type SimulatorOptions, type SimulatorStats } from './simulator.js';
export { loadProfileFile, parseProfile, ProfileInvalidError, SAMPLE_PROFILE_PATH, type SimulationProfile } from './profile.js';
export { Rng, hashString } from './rng.js';
export { WorkCalendar, formatLocal, localDay, dayStart, VN_OFFSET_MS, DAY_MS, HOUR_MS, MINUTE_MS } from './calendar.js';
