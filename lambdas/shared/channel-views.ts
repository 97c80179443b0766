import { DynamoDbChannelViews } from '../adapters/dynamodb-channel-views';
import { documentClient, tableName } from './dynamodb';

export const channelViews = new DynamoDbChannelViews(documentClient, tableName);
