#include "labelrun/webhook/signature.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace labelrun::webhook {
namespace {

// GitHub's documented test vector (validating-webhook-deliveries).
constexpr const char* kSecret = "It's a Secret to Everybody";
constexpr const char* kBody = "Hello, World!";
constexpr const char* kSignature =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

TEST(Signature, GitHubTestVector) {
  EXPECT_EQ(SignBody(kSecret, kBody), kSignature);
  SignatureVerifier verifier({kSecret});
  EXPECT_TRUE(verifier.Verify(kBody, kSignature));
}

TEST(Signature, UpperCaseHexIsAccepted) {
  SignatureVerifier verifier({kSecret});
  EXPECT_TRUE(verifier.Verify(
      kBody, "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"));
}

TEST(Signature, RejectsTamperingAndMalformedHeaders) {
  SignatureVerifier verifier({kSecret});
  EXPECT_FALSE(verifier.Verify("Hello, World?", kSignature));
  EXPECT_FALSE(verifier.Verify(kBody, ""));
  EXPECT_FALSE(
      verifier.Verify(kBody, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(verifier.Verify(
      kBody, "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(verifier.Verify(kBody, "sha256=757107ea"));
  EXPECT_FALSE(verifier.Verify(
      kBody, "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(verifier.Verify(kBody, std::string(kSignature) + "00"));
}

TEST(Signature, EveryActiveSecretIsTried) {
  SignatureVerifier rotating({"old-secret", kSecret});
  EXPECT_EQ(rotating.secret_count(), 2u);
  EXPECT_TRUE(rotating.Verify(kBody, kSignature));
  EXPECT_TRUE(rotating.Verify(kBody, SignBody("old-secret", kBody)));
  EXPECT_FALSE(rotating.Verify(kBody, SignBody("retired-secret", kBody)));
}

TEST(Signature, EmptyBodyIsSignedToo) {
  SignatureVerifier verifier({"s"});
  EXPECT_TRUE(verifier.Verify("", SignBody("s", "")));
  EXPECT_FALSE(verifier.Verify("", SignBody("t", "")));
}

// Contexts are reused between deliveries: a verification must not see what the
// previous one (good, tampered or with another secret) left in its context.
TEST(Signature, ReusedContextsAnswerEveryDeliveryOnItsOwn) {
  SignatureVerifier verifier({"old secret", kSecret});
  const std::string other = SignBody("old secret", "another body");
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(verifier.Verify(kBody, kSignature)) << i;
    EXPECT_FALSE(verifier.Verify("Hello, World?", kSignature)) << i;
    EXPECT_TRUE(verifier.Verify("another body", other)) << i;
    EXPECT_FALSE(verifier.Verify(kBody, other)) << i;
    EXPECT_TRUE(verifier.Verify("", SignBody(kSecret, ""))) << i;
  }
}

TEST(Signature, ConcurrentVerificationsAgree) {
  SignatureVerifier verifier({kSecret});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string body = "body " + std::to_string(t) + " " + std::to_string(i);
        const std::string good = SignBody(kSecret, body);
        if (!verifier.Verify(body, good)) ++wrong;
        if (verifier.Verify(body + "!", good)) ++wrong;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace labelrun::webhook
