#include "labelrun/report/redact.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace labelrun::report {
namespace {

struct Case {
  std::string in;
  std::string out;
};

void Check(const Redactor& r, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    EXPECT_EQ(r.Redact(c.in), c.out) << "input: " << c.in;
    EXPECT_EQ(r.Matches(c.in), c.in != c.out) << "input: " << c.in;
  }
}

const std::string k36 = "abcdefghijklmnopqrstuvwxyzABCDEF0123";

TEST(RedactorTest, GithubTokens) {
  Redactor r;
  Check(r, {
               {"token ghp_" + k36 + " end", "token *** end"},
               {"gho_" + k36, "***"},
               // The value of a token-named key runs to the next space: the host goes too.
               {"x-access-token:ghs_" + k36 + "@github.com", "x-access-token:***"},
               {"ghu_" + k36 + ",ghr_" + k36, "***,***"},
               {"github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "***"},
               {"ghp_short is not a token", "ghp_short is not a token"},
               {"ghx_" + k36, "ghx_" + k36},
           });
}

TEST(RedactorTest, CloudCredentials) {
  Redactor r;
  Check(r, {
               {"AKIAIOSFODNN7EXAMPLE", "***"},
               {"key=ASIAIOSFODNN7EXAMPLE;", "key=***;"},
               {"AKIAIOSFODNN7EXAMPLEX is longer", "AKIAIOSFODNN7EXAMPLEX is longer"},
               {"XAKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE"},
               {"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY done",
                "AWS_SECRET_ACCESS_KEY=*** done"},
               {"key AIzaSyA-1234567890abcdefghijklmnopqrstu ok", "key *** ok"},
               {"ya29.a0AfH6SMBx1234567890abcdefghij", "***"},
               {"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4+/=="
                ";EndpointSuffix=core.windows.net",
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix="
                "core.windows.net"},
               {"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=abcDEF123%2Bxyz%3D&se=1",
                "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=***&se=1"},
           });
}

TEST(RedactorTest, PrivateKeys) {
  Redactor r;
  const std::string key =
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1\nabcdef==\n-----END RSA PRIVATE "
      "KEY-----";
  Check(r, {
               {"before\n" + key + "\nafter", "before\n***\nafter"},
               {"x -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA", "x ***"},
               {"\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE "
                "KEY-----\\n\", \"x\": 1",
                "\"private_key\": \"***\", \"x\": 1"},
               // A tail that starts inside a key: everything up to the END marker goes.
               {"MIIEpAIBAAKCAQEA1\nabc==\n-----END PRIVATE KEY-----\nnext line", "***\nnext line"},
               // Public keys and certificates are not secrets.
               {"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
                "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
               {"-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----"},
           });
}

TEST(RedactorTest, OtherTokenShapes) {
  Redactor r;
  const std::string jwt =
      "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NTYiLCJpYXQiOjE3MDB9.c2lnbmF0dXJlX2J5dGVzX2hlcmU";
  Check(r, {
               {"xoxb-1234567890-0987654321-AbCdEfGhIjKl", "***"},
               {"Authorization: Bearer abc.def-ghi_jkl=", "Authorization: Bearer ***"},
               {"authorization: bearer   0123456789abcdef", "authorization: bearer   ***"},
               {"Bearer short", "Bearer short"},
               {"login hf_abcdefghijklmnopqrstuvwxyzABCDEFGH done", "login *** done"},
               {"OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx", "OPENAI_API_KEY=***"},
               {"jwt " + jwt, "jwt ***"},
               {"git clone https://user:s3cr3t-pass@example.com/x.git",
                "git clone https://user:***@example.com/x.git"},
               {"see https://example.com:8080/path", "see https://example.com:8080/path"},
           });
}

TEST(RedactorTest, SecretNamedKeys) {
  Redactor r;
  Check(r, {
               {"password=hunter22", "password=***"},
               {"{\"api_key\": \"abcdef123456\", \"n\": 1}", "{\"api_key\": \"***\", \"n\": 1}"},
               {"HF_TOKEN: 'q1w2e3r4t5'", "HF_TOKEN: '***'"},
               {"client_secret = abc123xyz789 next", "client_secret = *** next"},
               // Not secrets: numbers, placeholders, short values, look-alike keys.
               {"tokens_per_second: 1234.5 max_tokens=2048",
                "tokens_per_second: 1234.5 max_tokens=2048"},
               {"pad_token: <pad> unk_token=[UNK]", "pad_token: <pad> unk_token=[UNK]"},
               {"password: ${PASSWORD}", "password: ${PASSWORD}"},
               {"token: null, secret=true", "token: null, secret=true"},
               {"tokenizer: bert-base-uncased", "tokenizer: bert-base-uncased"},
               {"password=12345", "password=12345"},
           });
}

TEST(RedactorTest, ConfiguredSecrets) {
  Redactor r({"s3cretValue", "abcdef", "defghi", "abc", "", "日本語の秘密", "WXYZ", "s3cretValue"});
  EXPECT_EQ(r.secret_count(), 5u);  // "abc" and "" are too short; duplicates merged
  Check(r, {
               {"s3cretValue", "***"},                            // whole line
               {"s3cretValue at the start", "*** at the start"},  // line edges
               {"at the end s3cretValue", "at the end ***"},
               {"twice s3cretValues3cretValue", "twice ***"},  // touching matches merge
               {"xxabcdefghixx", "xx***xx"},                   // overlapping secrets
               {"abc alone", "abc alone"},                     // too short to be a secret
               {"é s3cretValue日本", "é ***日本"},             // multi-byte neighbours
               {"é-日本語の秘密です", "é-***です"},
               {"wxyz is another case", "wxyz is another case"},  // exact bytes only
               {"WXYZ", "***"},
           });
}

TEST(RedactorTest, PlainTextIsUnchanged) {
  Redactor r({"s3cretValue"});
  const std::string line =
      "{'loss': 0.4123, 'learning_rate': 5e-05, 'epoch': 0.5} step 120 | loss 2.31 | lr 3e-4 "
      "Epoch 3: 100%|██████████| 1000/1000 [00:21<00:00, 47.12it/s, v_num=3] -- done: yes";
  EXPECT_EQ(r.Redact(line), line);
  EXPECT_FALSE(r.Matches(line));
  EXPECT_EQ(r.Redact(""), "");
  EXPECT_EQ(r.Redact("-"), "-");
}

TEST(RedactorTest, ConcurrentUse) {
  const Redactor r({"s3cretValue"});
  const std::string in = "a s3cretValue b ghp_" + k36 + " c";
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) failures[t] += r.Redact(in) != "a *** b *** c";
    });
  }
  for (std::thread& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(StreamRedactorTest, KeyBlocksAcrossLines) {
  Redactor r;
  StreamRedactor stream(r);
  EXPECT_EQ(stream.RedactLine("start"), "start");
  EXPECT_EQ(stream.RedactLine("key: -----BEGIN EC PRIVATE KEY-----"), "key: ***");
  EXPECT_EQ(stream.RedactLine("MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49"),
            "***");
  EXPECT_EQ(stream.RedactLine("-----END EC PRIVATE KEY----- trailing"), "*** trailing");
  EXPECT_EQ(stream.RedactLine("after"), "after");
  EXPECT_EQ(stream.RedactLine("-----BEGIN PRIVATE KEY-----x-----END PRIVATE KEY----- ok"),
            "*** ok");
  EXPECT_EQ(stream.RedactLine("still fine"), "still fine");
}

TEST(RedactorAddSecretsTest, AddedValuesAreMaskedAndEarlierOnesKept) {
  Redactor r({"first-secret-value"});
  EXPECT_EQ(r.Redact("a first-secret-value b second-secret-value"), "a *** b second-secret-value");
  // Readers on other threads while a reload adds a value: each sees one whole table.
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      const std::string out = r.Redact("x first-secret-value y");
      ASSERT_EQ(out, "x *** y");
    }
  });
  r.AddSecrets({"second-secret-value", "ab"});
  stop = true;
  reader.join();
  EXPECT_EQ(r.Redact("a first-secret-value b second-secret-value"), "a *** b ***");
  EXPECT_EQ(r.secret_count(), 2u) << "values shorter than kMinSecretLength stay out";
  r.AddSecrets({"second-secret-value"});
  EXPECT_EQ(r.secret_count(), 2u);
}

}  // namespace
}  // namespace labelrun::report
