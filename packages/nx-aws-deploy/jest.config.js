module.exports = { ...require('../../jest.preset.js'), displayName: 'nx-aws-deploy', rootDir: __dirname };
