// Texts of the wall screen in Vietnamese (default) and English, and what it needs to know about each
// indicator it shows (its unit, for formatting; its short name).

export const TEXT = {
  vi: {
    ioc: 'TRUNG TÂM ĐIỀU HÀNH THÔNG MINH',
    title: 'Giải quyết thủ tục hành chính',
    simulated: 'DỮ LIỆU MÔ PHỎNG',
    live: 'Trực tiếp',
    connecting: 'Đang kết nối…',
    reconnecting: 'Mất kết nối — đang kết nối lại…',
    offline: 'Mất kết nối',
    reconnectingDetail: 'Các số liệu dưới đây là số liệu cuối cùng nhận được, chưa được cập nhật.',
    attempt: 'lần thử',
    asOf: 'Dữ liệu đến',
    updated: 'cập nhật',
    ago: 'trước',
    today: 'Hôm nay',
    received: 'Tiếp nhận',
    receivedToday: 'Hồ sơ tiếp nhận hôm nay',
    resolvedToday: 'Hồ sơ đã giải quyết hôm nay',
    onTimeRate: 'Tỉ lệ giải quyết đúng hạn',
    overdueNow: 'Hồ sơ quá hạn hiện tại',
    onlineShare: 'Tỉ lệ nộp trực tuyến',
    digitizedShare: 'Tỉ lệ số hóa khi tiếp nhận',
    lastHour: '60 phút qua',
    inProcess: 'đang xử lý',
    of: 'trên',
    dossiers: 'hồ sơ',
    score766: 'Chỉ số phục vụ người dân, doanh nghiệp — QĐ 766',
    thisMonth: 'tháng này',
    computablePoints: 'điểm tính được',
    trend: 'Diễn biến 60 phút qua',
    trendReceived: 'Tiếp nhận',
    trendResolved: 'Giải quyết',
    perHour: 'hồ sơ / 60 phút',
    perMinute: 'mỗi cột: số hồ sơ trong 1 phút',
    ranking: 'Xếp hạng đơn vị',
    worstOnTime: 'Tỉ lệ đúng hạn thấp nhất (tháng)',
    mostOverdue: 'Quá hạn nhiều nhất (hiện tại)',
    noData: 'Chưa có dữ liệu',
    noOverdue: 'Không có hồ sơ quá hạn',
    freshness: 'Độ mới dữ liệu',
    silentSources: 'Nguồn im lặng quá {m} phút',
    allSourcesFresh: 'Cả {n} nguồn đều gửi dữ liệu trong {m} phút qua',
    silentFor: 'im lặng',
    dataUpTo: 'dữ liệu đến',
    sources: 'nguồn',
    language: 'EN',
  },
  en: {
    ioc: 'INTELLIGENT OPERATIONS CENTER',
    title: 'Administrative procedures',
    simulated: 'SIMULATED DATA',
    live: 'Live',
    connecting: 'Connecting…',
    reconnecting: 'Disconnected — reconnecting…',
    offline: 'Disconnected',
    reconnectingDetail: 'The figures below are the last ones received and are not being updated.',
    attempt: 'attempt',
    asOf: 'Data as of',
    updated: 'updated',
    ago: 'ago',
    today: 'Today',
    received: 'Received',
    receivedToday: 'Dossiers received today',
    resolvedToday: 'Dossiers resolved today',
    onTimeRate: 'Resolved on time',
    overdueNow: 'Overdue now',
    onlineShare: 'Submitted online',
    digitizedShare: 'Digitized at intake',
    lastHour: 'last 60 min',
    inProcess: 'in process',
    of: 'of',
    dossiers: 'dossiers',
    score766: 'Public service index — Decision 766',
    thisMonth: 'this month',
    computablePoints: 'computable points',
    trend: 'Last 60 minutes',
    trendReceived: 'Received',
    trendResolved: 'Resolved',
    perHour: 'dossiers / 60 min',
    perMinute: 'each bar: dossiers in one minute',
    ranking: 'Unit ranking',
    worstOnTime: 'Lowest on-time rate (month)',
    mostOverdue: 'Most overdue (now)',
    noData: 'No data yet',
    noOverdue: 'No overdue dossiers',
    freshness: 'Data freshness',
    silentSources: 'Sources silent for over {m} min',
    allSourcesFresh: 'All {n} sources sent data in the last {m} min',
    silentFor: 'silent',
    dataUpTo: 'data up to',
    sources: 'sources',
    language: 'VI',
  },
};

/** Decision 766 parts in scorecard order: id, its number in the decision, and short names. */
export const QD766_PARTS = [
  { id: 'qd766.tdgq_2_1', no: '2.1', vi: 'Giải quyết đúng hạn', en: 'On-time processing' },
  { id: 'qd766.onl_3_3', no: '3.3', vi: 'Hồ sơ trực tuyến', en: 'Online dossiers' },
  { id: 'qd766.tttt_3_6', no: '3.6', vi: 'Thanh toán trực tuyến', en: 'Online payment' },
  { id: 'qd766.mdsh_4_1', no: '4.1', vi: 'Cấp kết quả điện tử', en: 'Electronic results' },
  { id: 'qd766.mdsh_4_2', no: '4.2', vi: 'Số hóa hồ sơ', en: 'Digitized dossiers' },
  { id: 'qd766.mdsh_4_3', no: '4.3', vi: 'Tái sử dụng dữ liệu', en: 'Reused data' },
  { id: 'qd766.mdsh_4_4', no: '4.4', vi: 'Kho dữ liệu cá nhân', en: "Citizen's data store" },
  { id: 'qd766.mdsh_4_5b', no: '4.5b', vi: 'CSDL dân cư, VNeID', en: 'Population DB, VNeID' },
  { id: 'qd766.mdhl_5_4', no: '5.4', vi: 'Mức độ hài lòng', en: 'Satisfaction' },
  { id: 'qd766.ckmb_1_4', no: '1.4', vi: 'Đồng bộ Cổng DVC quốc gia', en: 'Synced to national portal' },
];

/** Unit of each indicator the screen shows (the engine's catalog: count, ratio, hours, points). */
export const UNITS = {
  received: 'count',
  resolved: 'count',
  on_time_rate: 'ratio',
  in_process: 'count',
  in_process_overdue: 'count',
  online_share: 'ratio',
  digitized_at_intake_rate: 'ratio',
  'qd766.score': 'points',
  ...Object.fromEntries(QD766_PARTS.map((p) => [p.id, 'ratio'])),
};

/** The stream the screen subscribes to: current windows only, province and units. */
export const STREAM_QUERY = new URLSearchParams({
  indicator: Object.keys(UNITS).join(','),
  window: 'today,month,now,rolling_1h',
  scope: 'province,unit',
  current: 'true',
}).toString();

export function text(lang, key, vars = {}) {
  const s = (TEXT[lang] ?? TEXT.vi)[key] ?? TEXT.vi[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

/** "Ủy ban nhân dân xã Phú Lộc" → "UBND xã Phú Lộc": the usual short form on boards. */
export function shortUnitName(name, code) {
  if (typeof name !== 'string' || name === '') return code;
  return name.replace(/^Ủy ban nhân dân\s+/u, 'UBND ');
}
