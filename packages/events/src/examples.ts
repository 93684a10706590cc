/**
 * One realistic, hand-written event per type (a commune of Ha Noi handling a land-registry dossier),
 * in the JSON structured form an agency sends. Used by tests here and available to other packages
 * through '@iocbus/events/arbitraries'.
 */
import type { EventName } from './names.js';

const dossier = '000.00.17.H21-250701-0001';
const common = {
  dossierCode: dossier,
  procedureCode: '1.004227',
  unitCode: 'H21.227',
  sectorCode: 'G09-TN01',
};

function event(name: EventName, n: number, occurredAt: string, extra: Record<string, unknown>) {
  return {
    specversion: '1.0',
    id: `igate-${String(n).padStart(6, '0')}`,
    source: '/agencies/H21.227/igate',
    type: `vn.gov.tthc.dossier.${name}`,
    time: occurredAt,
    subject: dossier,
    datacontenttype: 'application/json',
    data: { ...common, occurredAt, ...extra },
  };
}

export const EXAMPLE_EVENTS: Readonly<Record<EventName, Record<string, unknown>>> = {
  submitted: event('submitted', 1, '2025-07-01T07:58:12+07:00', { channel: 'online', applicantType: 'citizen', vneidAuthenticated: true }),
  received: {
    ...event('received', 2, '2025-07-01T08:30:00+07:00', {
      receivedAt: '2025-07-01T08:30:00+07:00',
      dueAt: '2025-07-08T17:00:00+07:00',
      channel: 'online',
      applicantType: 'citizen',
      statutoryHours: 40,
      paperResultRequired: true,
      feeRequired: true,
      vneidAuthenticated: true,
      populationDbUsed: false,
      components: [
        { code: 'TP01', digitized: true, reused: true, fromPersonalStore: false },
        { code: 'TP02', digitized: false },
      ],
    }),
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  },
  intake_rejected: event('intake_rejected', 3, '2025-07-01T09:00:00+07:00', { reason: 'Thiếu bản sao giấy chứng nhận quyền sử dụng đất' }),
  digitized: event('digitized', 4, '2025-07-01T09:10:00+07:00', { componentCodes: ['TP01', 'TP02'] }),
  transferred: event('transferred', 5, '2025-07-02T10:00:00+07:00', { fromUnitCode: 'H21.227', toUnitCode: 'H21.17', interAgency: true }),
  supplement_requested: event('supplement_requested', 6, '2025-07-03T14:00:00+07:00', { requestedAt: '2025-07-03T14:00:00+07:00', note: 'Bổ sung sơ đồ thửa đất' }),
  supplement_received: event('supplement_received', 7, '2025-07-04T08:15:00+07:00', { suppliedAt: '2025-07-04T08:15:00+07:00', newDueAt: '2025-07-09T17:00:00+07:00' }),
  fee_requested: event('fee_requested', 8, '2025-07-04T09:00:00+07:00', { amount: 150000 }),
  fee_paid: event('fee_paid', 9, '2025-07-04T09:20:31.250+07:00', { paidAt: '2025-07-04T09:20:31.250+07:00', amount: 150000, method: 'national_portal' }),
  deadline_extended: event('deadline_extended', 10, '2025-07-09T16:00:00+07:00', { oldDueAt: '2025-07-09T17:00:00+07:00', newDueAt: '2025-07-11T17:00:00+07:00', reason: 'Thư xin lỗi mẫu 04: cần xác minh thực địa' }),
  withdrawn: event('withdrawn', 11, '2025-07-05T10:00:00+07:00', { withdrawnAt: '2025-07-05T10:00:00+07:00' }),
  stopped: event('stopped', 12, '2025-07-05T11:00:00+07:00', { stoppedAt: '2025-07-05T11:00:00+07:00', reason: 'Đất đang có tranh chấp' }),
  resolved: event('resolved', 13, '2025-07-10T15:45:00+07:00', { resolvedAt: '2025-07-10T15:45:00+07:00' }),
  result_issued: event('result_issued', 14, '2025-07-10T16:00:00+07:00', { electronic: true, resultFileUrl: 'https://dvc.hanoi.gov.vn/ket-qua/000.00.17.H21-250701-0001.pdf', syncedToCitizenStore: true }),
  result_returned: event('result_returned', 15, '2025-07-11T08:00:00Z', { returnedAt: '2025-07-11T08:00:00Z', method: 'electronic' }),
  rated: event('rated', 16, '2025-07-11T09:30:00+07:00', { rating: 'satisfied', comment: 'Cán bộ hướng dẫn tận tình' }),
  synced_national: event('synced_national', 17, '2025-07-11T09:31:00+07:00', { syncedAt: '2025-07-11T09:31:00+07:00' }),
};
