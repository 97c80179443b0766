#!/usr/bin/env node
/**
 * CDK entry: `npx cdk synth|deploy`. Reads context (see README: Deploying),
 * builds the stacks, and runs cdk-nag's AWS Solutions checks on synth.
 */
import { App } from 'aws-cdk-lib';
import { buildDroplineApp } from '../lib/app';
import { readSettings } from '../lib/config/settings';

const app = new App();
buildDroplineApp(app, readSettings(app.node));
app.synth();
