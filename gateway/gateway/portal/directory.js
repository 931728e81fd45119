// The banks, organisations and sites the signed-in person can see (GET /v1/banks, /v1/organisations,
// /v1/sites), loaded once per sign-in: pages show names instead of ids, and pickers offer the
// places a person works at.
import { all } from "./api.js";

let loaded = null;

export function forget() { loaded = null; }

// { banks, organisations, sites } (each a list), plus lookups by id.
export async function directory() {
  if (!loaded) {
    loaded = (async () => {
      const banks = await all("/v1/banks");
      const trees = await Promise.all(banks.map((bank) => Promise.all([
        all(`/v1/organisations?bank_id=${encodeURIComponent(bank.id)}`),
        all(`/v1/sites?bank_id=${encodeURIComponent(bank.id)}`)])));
      const organisations = trees.flatMap(([orgs]) => orgs);
      const sites = trees.flatMap(([, siteList]) => siteList);
      const byId = (list) => Object.fromEntries(list.map((item) => [item.id, item]));
      return { banks, organisations, sites, bank: byId(banks), organisation: byId(organisations), site: byId(sites) };
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

// "Main Hospital (Royal Trust)", or a short id while the site is unknown to this person.
export function siteName(dir, siteId) {
  const site = dir.site[siteId];
  if (!site) return `Site ${String(siteId).slice(0, 8)}`;
  const org = dir.organisation[site.organisation_id];
  return org ? `${site.name} (${org.name})` : site.name;
}

// The sites where one of `roles` is granted to `me`: a site grant names it, an organisation grant
// its sites, a bank or platform grant every site of the bank (or every site seen).
export function sitesFor(dir, me, roles) {
  const grants = me.roles.filter((grant) => roles.includes(grant.role));
  const covered = (site) => grants.some((grant) => grant.scope_type === "platform"
    || (grant.scope_type === "bank" && grant.scope_id === site.bank_id)
    || (grant.scope_type === "organisation" && grant.scope_id === site.organisation_id)
    || (grant.scope_type === "site" && grant.scope_id === site.id));
  return dir.sites.filter(covered).sort((a, b) => siteName(dir, a.id).localeCompare(siteName(dir, b.id)));
}
