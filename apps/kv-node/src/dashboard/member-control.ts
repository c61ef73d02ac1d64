/** What the dashboard's member buttons do, implemented by the local cluster launcher. */

/**
 * Membership changes of a local cluster, for the dashboard of `kv-node cluster`: each resolves
 * with what was done once it is complete (for an added member: caught up and promoted), and
 * rejects with an `Error` whose message the page shows. `authorization` is the `Authorization`
 * header of the page's request, passed on to the member API: the launcher holds no credentials,
 * so with client auth on only an admin's token gets a change through.
 */
export interface MemberControl {
  /** Adds a member: a learner that catches up, then is promoted. */
  add(authorization: string | undefined): Promise<string>;
  /** Removes the member; it stops, and its data directory is deleted. */
  remove(name: string, authorization: string | undefined): Promise<string>;
  /** Removes the member, deletes its data and adds a fresh member in its place. */
  replace(name: string, authorization: string | undefined): Promise<string>;
}
