/** What `attempt` threw (or the rejection of what it returned); fails the test when it succeeds. */
export async function thrownBy(attempt: () => unknown): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}
