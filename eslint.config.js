// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import jsdoc from 'eslint-plugin-jsdoc'
import prettier from 'eslint-config-prettier'

/**
 * Layering (see ../shared/STYLE.md section 2): each block forbids imports that point upwards.
 * @param {string[]} files
 * @param {string[]} forbidden
 */
const layer = (files, forbidden) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((group) => ({
          group: [group],
          message: 'Imports point down only (STYLE.md section 2).',
        })),
      },
    ],
  },
})

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.venv/**', '.tmp/**', 'bench/.data/**'],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use string-literal unions (STYLE.md 3).' },
        {
          selector: 'TSModuleDeclaration[kind="namespace"]',
          message: 'No namespaces (STYLE.md 3).',
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { jsdoc },
    rules: {
      'jsdoc/require-jsdoc': [
        'error',
        {
          publicOnly: true,
          require: { FunctionDeclaration: true, ClassDeclaration: true, MethodDefinition: false },
          contexts: [
            'TSInterfaceDeclaration',
            'TSTypeAliasDeclaration',
            'ExportNamedDeclaration > VariableDeclaration',
          ],
        },
      ],
      'jsdoc/check-tag-names': ['error', { definedTags: ['internal', 'module', 'see'] }],
      'jsdoc/no-types': 'error',
    },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'examples/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  layer(
    ['src/delta/**/*.ts'],
    [
      '**/lakehouse/**',
      '**/auth/**',
      '**/audit/**',
      '**/billing/**',
      '**/gdpr/**',
      '**/maintenance/**',
      '**/backends/**',
      '**/server/**',
      '**/cli/**',
      '**/common/**',
      '**/client.js',
    ],
  ),
  layer(
    ['src/common/**/*.ts'],
    [
      '**/delta/**',
      '**/lakehouse/**',
      '**/auth/**',
      '**/audit/**',
      '**/billing/**',
      '**/gdpr/**',
      '**/maintenance/**',
      '**/backends/**',
      '**/server/**',
      '**/cli/**',
    ],
  ),
  layer(
    ['src/lakehouse/**/*.ts'],
    [
      '**/auth/**',
      '**/audit/**',
      '**/billing/**',
      '**/gdpr/**',
      '**/maintenance/**',
      '**/backends/**',
      '**/server/**',
      '**/cli/**',
      '**/client.js',
    ],
  ),
  layer(
    ['src/maintenance/**/*.ts'],
    [
      '**/auth/**',
      '**/audit/**',
      '**/billing/**',
      '**/gdpr/**',
      '**/backends/**',
      '**/server/**',
      '**/cli/**',
      '**/client.js',
    ],
  ),
  layer(
    ['src/audit/**/*.ts'],
    [
      '**/auth/**',
      '**/billing/**',
      '**/gdpr/**',
      '**/backends/**',
      '**/server/**',
      '**/cli/**',
      '**/client.js',
    ],
  ),
  layer(
    ['src/auth/**/*.ts', 'src/billing/**/*.ts'],
    ['**/gdpr/**', '**/backends/**', '**/server/**', '**/cli/**', '**/client.js'],
  ),
  layer(['src/gdpr/**/*.ts'], ['**/backends/**', '**/server/**', '**/cli/**', '**/client.js']),
  layer(['src/backends/**/*.ts'], ['**/server/**', '**/cli/**', '**/client.js']),
  layer(['src/server/**/*.ts'], ['**/cli/**']),
  layer(['src/cli/**/*.ts'], ['**/server/**']),
  prettier,
)
