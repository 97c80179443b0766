import { assertJava, JavaMissingError } from '../../local/emulators/dynamodb-local';

test('names the fix when no Java runtime is on PATH', () => {
  const withoutJava = { ...process.env, PATH: '/nonexistent' };
  expect(() => assertJava(withoutJava)).toThrow(JavaMissingError);
  expect(() => assertJava(withoutJava)).toThrow(/Java 17\+.*apt-get install openjdk-17-jre-headless/);
});

test('accepts the Java runtime this machine has', () => {
  expect(() => assertJava()).not.toThrow();
});
