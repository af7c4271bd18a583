import { api } from '../api.js';
import { ErrorBox, TableWrap, useLoad } from '../ui.js';

export interface Tier {
  readonly name: string;
  readonly isolation: string;
  readonly throttle: { rateLimit: number; burstLimit: number; dailyQuota: number };
  readonly database?: { instanceClass: string; multiAz?: boolean } | undefined;
  readonly dedicatedAccount?: boolean;
  readonly allowedTransitions: readonly string[];
}

export function TiersPage() {
  const tiers = useLoad(() => api<{ tiers: Tier[] }>('GET', '/v1/tiers'), []);
  return (
    <div>
      <h1>Tiers</h1>
      <ErrorBox error={tiers.error} />
      <TableWrap label="Tier catalog">
        <thead>
          <tr>
            <th scope="col">Tier</th>
            <th scope="col">Isolation</th>
            <th scope="col">Rate/s</th>
            <th scope="col">Burst</th>
            <th scope="col">Daily quota</th>
            <th scope="col">Database</th>
            <th scope="col">Own account</th>
            <th scope="col">Moves to</th>
          </tr>
        </thead>
        <tbody>
          {(tiers.value?.tiers ?? []).map((t) => (
            <tr key={t.name}>
              <th scope="row">{t.name}</th>
              <td>{t.isolation}</td>
              <td>{t.throttle.rateLimit}</td>
              <td>{t.throttle.burstLimit}</td>
              <td>{t.throttle.dailyQuota}</td>
              <td>
                {t.database ? `${t.database.instanceClass}${t.database.multiAz ? ' multi-AZ' : ''}` : '—'}
              </td>
              <td>{t.dedicatedAccount ? 'yes' : 'no'}</td>
              <td>{t.allowedTransitions.join(', ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
    </div>
  );
}
