-- One database per PostgreSQL-backed service (pfms_platform.catalogue); each service's own
-- `pfms-<name> migrate` creates its tables. Run once by the postgres image on an empty data
-- directory (compose), and by the Kubernetes dev infra the same way.
CREATE DATABASE pfms_auth;
CREATE DATABASE pfms_user;
CREATE DATABASE pfms_expense;
CREATE DATABASE pfms_income;
CREATE DATABASE pfms_investment;
CREATE DATABASE pfms_loan;
CREATE DATABASE pfms_group;
CREATE DATABASE pfms_tax;
CREATE DATABASE pfms_notification;
CREATE DATABASE pfms_automation;
CREATE DATABASE pfms_report;
CREATE DATABASE pfms_market;
CREATE DATABASE pfms_savings;
CREATE DATABASE pfms_accounts;
