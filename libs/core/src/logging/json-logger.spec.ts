import { JsonLogger } from './json-logger';

describe('JsonLogger', () => {
  function capture(
    run: (logger: JsonLogger) => void,
    level: 'info' | 'debug' = 'info',
  ): Array<Record<string, unknown>> {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      run(new JsonLogger(level));
    } finally {
      write.mockRestore();
    }
    return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it("keeps Nest's start-up chatter (a line per module and route) at debug, and a process's own lines at info", () => {
    const atInfo = capture((logger) => {
      logger.log('AppModule dependencies initialized', 'InstanceLoader');
      logger.log('Mapped {/login, GET} route', 'RouterExplorer');
      logger.log('Nest application successfully started', 'NestApplication');
      logger.log({ msg: 'signoff started', url: 'http://127.0.0.1:3000' }, 'Main');
    });
    expect(atInfo).toEqual([expect.objectContaining({ level: 'info', msg: 'signoff started', context: 'Main' })]);
    const atDebug = capture((logger) => logger.log('Mapped {/login, GET} route', 'RouterExplorer'), 'debug');
    expect(atDebug).toEqual([expect.objectContaining({ level: 'debug', msg: 'Mapped {/login, GET} route' })]);
  });
});
